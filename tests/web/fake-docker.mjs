// A stand-in for the Docker Engine API on a Unix socket, just what the agent asks for: /_ping
// (API 1.41), the container list, one-shot stats, and start / stop / restart, which change the
// container's state. Lets the browser test see containers and act on them without a daemon.
//
//   const docker = await startFakeDocker(socketPath, [{ id, name, image, state }]);
//   docker.actions  // ['stop web', …] in the order they came
//   await docker.close();
import http from 'node:http';

const API = '1.41';
const STATUS_OF = { running: 'Up 5 minutes', exited: 'Exited (0) 2 hours ago', paused: 'Up 5 minutes (Paused)' };

export async function startFakeDocker(socketPath, containers) {
  const byRef = (ref) => containers.find((c) => c.id === ref || c.name === ref || c.id.startsWith(ref));
  const started = Date.now();
  const actions = [];

  const server = http.createServer((req, res) => {
    const send = (status, body) => {
      if (body === undefined) { // 204 and 304 have no body
        res.writeHead(status, { 'Api-Version': API });
        return res.end();
      }
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text),
                              'Api-Version': API });
      res.end(text);
    };
    req.resume();
    const url = new URL(req.url, 'http://docker');
    const p = url.pathname.replace(/^\/v\d+\.\d+/, '');
    if (req.method === 'GET' && p === '/_ping') return send(200, 'OK');
    if (req.method === 'GET' && p === '/version') return send(200, { ApiVersion: API, Version: '24.0.0-fake' });
    if (req.method === 'GET' && p === '/containers/json') {
      return send(200, containers.map((c) => ({
        Id: c.id, Names: [`/${c.name}`], Image: c.image, State: c.state, Status: STATUS_OF[c.state] || c.state,
      })));
    }
    let m = /^\/containers\/([^/]+)\/stats$/.exec(p);
    if (req.method === 'GET' && m) {
      const c = byRef(m[1]);
      if (!c) return send(404, { message: `No such container: ${m[1]}` });
      // Monotonic counters: the agent turns them into rates (CPU ≈ c.cpu % of one core).
      const ns = (Date.now() - started) * 1e6;
      return send(200, {
        cpu_stats: { cpu_usage: { total_usage: Math.round(ns * c.cpu / 100) }, system_cpu_usage: 1e15 + ns * 2,
                     online_cpus: 2 },
        memory_stats: { usage: c.memory, limit: 2 * 1024 ** 3, stats: { inactive_file: 0 } },
        networks: { eth0: { rx_bytes: Math.round(ns / 1e4), tx_bytes: Math.round(ns / 2e4) } },
      });
    }
    m = /^\/containers\/([^/]+)\/(start|stop|restart)$/.exec(p);
    if (req.method === 'POST' && m) {
      const c = byRef(m[1]);
      actions.push(`${m[2]} ${m[1]}`);
      if (!c) return send(404, { message: `No such container: ${m[1]}` });
      const want = m[2] === 'stop' ? 'exited' : 'running';
      if (m[2] !== 'restart' && c.state === want) return send(304);
      c.state = want;
      return send(204);
    }
    return send(404, { message: `fake docker: no route ${req.method} ${p}` });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    actions,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
