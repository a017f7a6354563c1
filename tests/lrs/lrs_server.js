'use strict';
// Runs Learning Locker's xAPI statements service (npm xapi-statements) for
// lmsbridge's tests, started by tests/lrs/real_lrs.py. The service keeps its
// statements in memory (MODELS_REPO=memory), attachments under LRS_DIR
// (STORAGE_REPO=local), sends no events (EVENTS_REPO=test: no Redis) and asks
// an HTTP endpoint who a client is (AUTH_REPO=fetch), as Learning Locker's
// own deployment asks its API: that endpoint is served here, on another
// loopback port, and knows one client: HTTP Basic LRS_KEY:LRS_SECRET.
//
// Environment (from real_lrs.py):
//   LRS_MODULES   the node_modules directory npm ci filled
//   LRS_DIR       run directory (attachments, access logs, the ready file)
//   LRS_KEY, LRS_SECRET   the client's Basic credentials (never logged)
// The service listens on a free port of 127.0.0.1; when it listens, the
// port is written to LRS_DIR/ready (atomically).
const fs = require('fs');
const http = require('http');
const path = require('path');

const modules = process.env.LRS_MODULES;
const dir = process.env.LRS_DIR;
const key = process.env.LRS_KEY;
const secret = process.env.LRS_SECRET;
if (!modules || !dir || !key || !secret) {
  console.error('lrs_server: LRS_MODULES, LRS_DIR, LRS_KEY and LRS_SECRET are required');
  process.exit(2);
}
delete process.env.LRS_SECRET; // the service has no business with it

const expected = 'Basic ' + Buffer.from(key + ':' + secret).toString('base64');
const client = {
  _id: '5f0000000000000000000001',
  title: 'lmsbridge tests',
  authority: {objectType: 'Agent', name: 'lmsbridge tests',
              mbox: 'mailto:lrs-client@lmsbridge.invalid'},
  isTrusted: true,
  lrs_id: '5f0000000000000000000002',
  organisation: '5f0000000000000000000003',
  scopes: ['statements/write', 'statements/read'],
};

// Who the client is, as Learning Locker's /auth/client/info says it: 200
// with the client, 404 (the service's "no such client") otherwise.
const auth = http.createServer((req, res) => {
  const ok = req.headers.authorization === expected;
  res.writeHead(ok ? 200 : 404, {'Content-Type': 'application/json'});
  res.end(JSON.stringify(ok ? client : {message: 'no such client'}));
});

auth.listen(0, '127.0.0.1', () => {
  Object.assign(process.env, {
    LL_CLIENT_INFO_ENDPOINT: 'http://127.0.0.1:' + auth.address().port + '/auth/client/info',
    AUTH_REPO: 'fetch',
    MODELS_REPO: 'memory',
    STORAGE_REPO: 'local',
    EVENTS_REPO: 'test',
    FS_LOCAL_STORAGE_DIR: path.join(dir, 'storage'),
    EXPRESS_MORGAN_DIRECTORY: path.join(dir, 'access-logs'),
    EXPRESS_PORT: '0',
    SERVICE_AWAIT_UPDATES: 'true', // a GET right after a PUT sees it
    WINSTON_CONSOLE_LEVEL: process.env.WINSTON_CONSOLE_LEVEL || 'info',
  });
  // The service calls app.listen(port): bind it to loopback only, and say
  // which port the kernel chose once it listens.
  const listen = http.Server.prototype.listen;
  http.Server.prototype.listen = function (port, ...rest) {
    http.Server.prototype.listen = listen;
    const cb = rest.find((a) => typeof a === 'function');
    this.once('listening', () => {
      const tmp = path.join(dir, 'ready.tmp');
      fs.writeFileSync(tmp, String(this.address().port) + '\n');
      fs.renameSync(tmp, path.join(dir, 'ready'));
    });
    return listen.call(this, 0, '127.0.0.1', cb);
  };
  require(path.join(modules, 'xapi-statements', 'dist', 'server'));
});
