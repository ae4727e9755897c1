/**
 * The ceilings the benchmark compares the server with, on the same machine in the same run:
 *   GET /hello/:id  a bare fastify route returning the JSON of a record GET (no I/O);
 *   GET /db/:id     the same route doing one parameterised SELECT of that record through a pg pool.
 * Usage: node bench/ceiling.ts --port N --db URL --parent /buckets/b/collections/c [--workers N]
 * The JSON to return comes from $BENCH_CEILING_JSON.
 */
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    db: { type: 'string' },
    parent: { type: 'string' },
    workers: { type: 'string', default: '1' },
    'pool-size': { type: 'string', default: '10' },
  },
});

interface Row {
  id: string;
  last_modified: string;
  data: Record<string, unknown>;
}

async function serve(): Promise<void> {
  const body = JSON.parse(process.env.BENCH_CEILING_JSON ?? '{"data":{}}') as unknown;
  const pool = new pg.Pool({ connectionString: values.db, max: Number(values['pool-size']) });
  const app = Fastify({ logger: false });
  app.get('/hello/:id', async () => body);
  app.get<{ Params: { id: string } }>('/db/:id', async (request, reply) => {
    const result = await pool.query<Row>(
      `SELECT id, last_modified, data FROM objects
       WHERE parent_id = $1 AND resource_name = 'record' AND id = $2 AND NOT deleted`,
      [values.parent, request.params.id],
    );
    const row = result.rows[0];
    if (!row) return reply.code(404).send({ code: 404 });
    return { data: { ...row.data, id: row.id, last_modified: Number(row.last_modified) }, permissions: {} };
  });
  app.addHook('onClose', async () => pool.end());
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
  await app.listen({ port: Number(values.port), host: '127.0.0.1' });
}

const workers = Number(values.workers);
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  await serve();
}
