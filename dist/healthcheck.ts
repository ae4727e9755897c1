/**
 * The image's HEALTHCHECK: the server answers `__lbheartbeat__` (Dockerflow) on $PORT.
 * Exit code 0 when healthy, 1 otherwise; a plain script, so that it starts fast.
 */
const port = process.env.PORT || '8888';
const url = `http://127.0.0.1:${port}/v1/__lbheartbeat__`;

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
