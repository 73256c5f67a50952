'use strict';
// Sends COUNT records to 127.0.0.1:PORT under TAG with fluent-logger for Node (a Forward client we
// did not write), doing the shared-key handshake with KEY, and user auth with USER/PASS when the
// server asks for it. Every record waits for its ack (requireAckResponse), one after the other.
// Exits 0 once every record was acked, 1 when the logger reports an error (handshake refused, bad
// ack), 2 when nothing more happens for 15 s (e.g. the server closed the connection).
// Usage: node send.js PORT TAG COUNT KEY [USER PASS]
// With FLUENT_TLS_CA set (a PEM file), it connects over TLS, verifying the server against that CA;
// FLUENT_TLS_CERT/FLUENT_TLS_KEY add a client certificate.
const fs = require('fs');
const logger = require('fluent-logger');

const [port, tag, count, key, user = '', pass = ''] = process.argv.slice(2);
if (!port || !tag || !count || key === undefined) {
  console.error('usage: node send.js PORT TAG COUNT KEY [USER PASS]');
  process.exit(64);
}

function tlsOptions() {
  const ca = process.env.FLUENT_TLS_CA;
  if (!ca) {
    return {};
  }
  const opts = { ca: fs.readFileSync(ca), servername: 'localhost' };
  if (process.env.FLUENT_TLS_CERT) {
    opts.cert = fs.readFileSync(process.env.FLUENT_TLS_CERT);
    opts.key = fs.readFileSync(process.env.FLUENT_TLS_KEY);
  }
  return { tls: true, tlsOptions: opts };
}

const fail = (code, why) => {
  console.error(`send.js: ${why}`);
  process.exit(code);
};
const watchdog = setTimeout(() => fail(2, 'timed out waiting for the server'), 15000);

const sender = logger.createFluentSender(tag, {
  host: '127.0.0.1',
  port: Number(port),
  requireAckResponse: true,
  ackResponseTimeout: 10000,
  enableReconnect: false,
  internalLogger: { info() {}, error: (...args) => console.error(...args) },
  security: { clientHostname: 'node-client', sharedKey: key, username: user, password: pass },
  ...tlsOptions(),
});
sender.on('error', (e) => fail(1, `logger error: ${e && e.message}`));

const n = Number(count);
const sendFrom = (i) => {
  if (i === n) {
    clearTimeout(watchdog);
    sender.end(null, null, () => process.exit(0));
    return;
  }
  sender.emit({ message: `node record ${i}`, i }, (err) => {
    if (err) {
      fail(1, `record ${i}: ${err.message}`);
    }
    sendFrom(i + 1);
  });
};
sendFrom(0);
