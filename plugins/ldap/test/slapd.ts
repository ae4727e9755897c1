/**
 * A private OpenLDAP server for the LDAP tests: a throwaway cn=config (mdb backend,
 * suffix dc=example,dc=com) in a temporary directory, on a free 127.0.0.1 port, seeded
 * with ldapadd. Debian's slapd and ldap-utils are required: when they are missing they
 * are installed if the tests run as root, otherwise the tests fail (never skip).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SUFFIX = 'dc=example,dc=com';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PASSWORD = 'admin-secret';
export const PEOPLE_DN = `ou=people,${SUFFIX}`;

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const TOOLS = [SLAPD, SLAPADD, '/usr/bin/ldapadd'];
const MODULE_PATH = '/usr/lib/ldap';
const SCHEMA_DIR = '/etc/ldap/schema';

export interface LdapUser {
  uid: string;
  mail: string;
  password: string;
}

function missingTools(): string[] {
  return [...TOOLS, `${MODULE_PATH}/back_mdb.so`, `${SCHEMA_DIR}/inetorgperson.ldif`].filter((path) => !existsSync(path));
}

/** Installs slapd and ldap-utils (as root only), or throws saying how to get them. */
export function ensureSlapdInstalled(): void {
  if (missingTools().length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `The LDAP tests need OpenLDAP's slapd and ldap-utils (missing: ${missingTools().join(', ')}). ` +
        'Install them with: sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // The package's own directory is not used (each test file builds its own), so skip its set-up.
  execFileSync('debconf-set-selections', {
    input: 'slapd slapd/no_configuration boolean true\n',
    env,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const install = ['install', '-y', '--no-install-recommends', 'slapd', 'ldap-utils'];
  try {
    execFileSync('apt-get', install, { env, stdio: 'ignore' });
  } catch {
    execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
    execFileSync('apt-get', install, { env, stdio: 'inherit' });
  }
  if (missingTools().length) throw new Error(`slapd installation incomplete: missing ${missingTools().join(', ')}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function configLdif(dir: string): string {
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid
olcArgsFile: ${dir}/slapd.args

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: ${MODULE_PATH}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://${SCHEMA_DIR}/core.ldif

include: file://${SCHEMA_DIR}/cosine.ldif

include: file://${SCHEMA_DIR}/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${SUFFIX}
olcRootDN: ${ROOT_DN}
olcRootPW: ${ROOT_PASSWORD}
olcDbDirectory: ${dir}/data
olcDbMaxSize: 16777216
olcDbIndex: objectClass eq
olcDbIndex: mail eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
`;
}

function usersLdif(users: readonly LdapUser[]): string {
  const base = `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ${PEOPLE_DN}
objectClass: organizationalUnit
ou: people
`;
  const entries = users.map(
    (user) => `
dn: uid=${user.uid},${PEOPLE_DN}
objectClass: inetOrgPerson
uid: ${user.uid}
cn: ${user.uid}
sn: ${user.uid}
mail: ${user.mail}
userPassword: ${user.password}
`,
  );
  return base + entries.join('');
}

/** One slapd process with its configuration and data; start/stop may be repeated. */
export class Slapd {
  readonly dir: string;
  port = 0;
  private process: ChildProcess | null = null;

  private constructor(dir: string) {
    this.dir = dir;
  }

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  /** Builds a configuration, starts the server and adds `users` under ou=people. */
  static async create(users: readonly LdapUser[]): Promise<Slapd> {
    ensureSlapdInstalled();
    const slapd = new Slapd(mkdtempSync(join(tmpdir(), 'kinto-slapd-')));
    mkdirSync(join(slapd.dir, 'slapd.d'));
    mkdirSync(join(slapd.dir, 'data'));
    writeFileSync(join(slapd.dir, 'config.ldif'), configLdif(slapd.dir));
    execFileSync(SLAPADD, ['-n0', '-F', join(slapd.dir, 'slapd.d'), '-l', join(slapd.dir, 'config.ldif')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    slapd.port = await freePort();
    await slapd.start();
    writeFileSync(join(slapd.dir, 'users.ldif'), usersLdif(users));
    execFileSync('ldapadd', ['-x', '-H', slapd.url, '-D', ROOT_DN, '-w', ROOT_PASSWORD, '-f', join(slapd.dir, 'users.ldif')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return slapd;
  }

  async start(): Promise<void> {
    if (this.process) return;
    // `-d 0` keeps slapd in the foreground, so that it is our child and stops with us.
    const child = spawn(SLAPD, ['-d', '0', '-h', `${this.url}/`, '-F', join(this.dir, 'slapd.d')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        this.process = null;
        child.kill('SIGKILL');
        throw new Error(`slapd did not start on port ${this.port}: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = null;
    if (child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Stops the server and removes its files. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
