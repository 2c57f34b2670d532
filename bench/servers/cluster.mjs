// Runs a Node server script in N node:cluster workers sharing its listening socket (the kernel
// spreads connections: SCHED_NONE), for BENCH_WORKERS > 1 and BENCH_UPSTREAM_WORKERS > 1.
// SIGTERM/SIGINT stop the workers, then the primary. Usage: node cluster.mjs <workers> <script> [args...]
import cluster from 'node:cluster';

cluster.schedulingPolicy = cluster.SCHED_NONE;
const [count, script, ...args] = [Number(process.argv[2]), process.argv[3], ...process.argv.slice(4)];
cluster.setupPrimary({ exec: script, args });
let stopping = false;
for (let i = 0; i < count; i++) cluster.fork();
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) {
    console.error(`cluster: worker ${worker.process.pid} exited (${code ?? signal}), stopping`);
    stop(1);
  } else if (Object.keys(cluster.workers).length === 0) process.exit(0);
});
function stop(exitCode = 0) {
  stopping = true;
  process.exitCode = exitCode;
  const workers = Object.values(cluster.workers);
  if (workers.length === 0) process.exit(exitCode);
  for (const worker of workers) worker.process.kill('SIGTERM');
}
process.on('SIGTERM', () => stop());
process.on('SIGINT', () => stop());
