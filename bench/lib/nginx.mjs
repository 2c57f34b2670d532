// nginx as a peer: a fair config written to a temp prefix (1 worker by default, upstream keep-alive,
// access log off, bodies kept in memory), run in the foreground as the current user.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** 'nginx/1.22.1', or null when nginx is not installed (nginx -v prints to stderr). */
export function nginxVersion() {
  const result = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (result.error) return null;
  return `${result.stderr}${result.stdout}`.trim().replace(/^nginx version: /, '');
}

/** Writes <prefix>/nginx.conf and returns the command line that runs it. */
export function nginxCommand({ prefix, port, upstreamPort, workers }) {
  for (const dir of ['logs', 'tmp']) fs.mkdirSync(path.join(prefix, dir), { recursive: true });
  // As root, nginx would switch its workers to `nobody`: keep them as the current user instead.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};\n` : '';
  const conf = `${user}worker_processes ${workers};
daemon off;
master_process on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/client;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_requests 1000000;      # Node servers do not cap requests per connection either
  upstream backend {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;                 # idle upstream connections kept per worker
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} backlog=2048;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      client_max_body_size 0;
      proxy_request_buffering off; # stream request bodies like the Node proxies (no temp files)
      proxy_buffer_size 16k;
      proxy_buffers 8 64k;         # responses buffered in memory only, never spooled to disk
      proxy_busy_buffers_size 128k;
      proxy_max_temp_file_size 0;
    }
    location /ws {                 # WebSocket (the ws-echo scenario): the upgrade passed on
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
  const confPath = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  return {
    command: 'nginx',
    args: ['-e', path.join(prefix, 'logs/error.log'), '-p', prefix, '-c', confPath],
  };
}
