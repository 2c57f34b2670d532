// Turns the raw runs into the summary (medians, spread, peak RSS, Dito's ratios) and renders it as
// Markdown. The JSON file is the summary itself, raw runs included.
import { repeatsOf } from './cases.mjs';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** results: [{ scenario, cases: [{ id, proxy, runs, rss, error }] }] */
export function summarise({ results, machine, settings, startedAt, finishedAt }) {
  const scenarios = results.map(({ scenario, cases }) => {
    const summarised = cases.map((c) => {
      const base = { id: c.id, proxy: c.proxy.id, kind: c.proxy.kind, error: c.error ?? null, runs: c.runs };
      if (c.runs.length === 0) return { ...base, median: null };
      const rps = c.runs.map((r) => r.rps);
      const medianRps = median(rps);
      return {
        ...base,
        median: {
          rps: medianRps,
          p50Ms: median(c.runs.map((r) => r.latencyMs.p50)),
          p99Ms: median(c.runs.map((r) => r.latencyMs.p99)),
          cpuUsPerRequest: c.runs.every((r) => r.cpuUsPerRequest != null)
            ? median(c.runs.map((r) => r.cpuUsPerRequest))
            : null,
        },
        spreadPercent: ((Math.max(...rps) - Math.min(...rps)) / medianRps) * 100,
        errors: c.runs.reduce((sum, r) => sum + r.errors, 0),
        maxOtherLoad: Math.max(...c.runs.map((r) => r.otherLoad ?? 0)),
        maxSteal: {
          proxy: Math.max(...c.runs.map((r) => r.steal?.proxy ?? 0)),
          load: Math.max(...c.runs.map((r) => r.steal?.load ?? 0)),
        },
        peakRssMiB: c.rss ? c.rss.totalKiB / 1024 : null,
        rssByProcess: c.rss?.processes ?? [],
      };
    });
    const dito = summarised.find((c) => c.proxy === 'dito' && c.median);
    const direct = summarised.find((c) => c.proxy === 'direct' && c.median);
    for (const c of summarised) {
      if (!c.median) continue;
      c.loadSideBound = Boolean(direct && c !== direct && c.median.rps >= 0.9 * direct.median.rps);
      if (dito && c !== dito) {
        c.ditoRatio = {
          rps: dito.median.rps / c.median.rps,
          p99: dito.median.p99Ms / c.median.p99Ms,
          peakRss: dito.peakRssMiB && c.peakRssMiB ? dito.peakRssMiB / c.peakRssMiB : null,
        };
      }
    }
    return {
      id: scenario.id,
      title: scenario.title,
      connections: scenario.connections,
      messageBytes: scenario.messageBytes ?? null,
      repeats: repeatsOf(scenario, settings),
      // What `rps` counts: requests, or messages for the WebSocket echo.
      unit: scenario.unit ?? 'req/s',
      cases: summarised,
    };
  });
  return { schema: 1, startedAt, finishedAt, machine, settings: publicSettings(settings), scenarios };
}

function publicSettings(s) {
  return {
    durationSeconds: s.durationSeconds,
    warmupSeconds: s.warmupSeconds,
    repeats: s.repeats,
    caseFilter: s.caseFilter || null,
    pinned: s.pin,
    proxyCpus: s.proxyCpus,
    loadCpus: s.loadCpus,
    wrkThreads: s.wrkThreads,
    upstreamWorkers: s.upstreamWorkers,
    proxyWorkers: s.proxyWorkers,
    maxOtherLoad: s.maxOtherLoad,
    maxSteal: s.maxSteal,
    retries: s.retries,
    quietWaitSeconds: s.quietWaitSeconds,
    quietBudgetSeconds: s.quietBudgetSeconds,
  };
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
/** 0.123 → '12 %' (steal shares). */
export const percent = (share) => `${Math.round(share * 100)} %`;
const ratio = (n) => (n == null || !Number.isFinite(n) ? '—' : `${n.toFixed(2)}×`);

/** 'GET 1 KiB, 64 connections' or 'WebSocket echo, 32 connections, 64-byte messages'. */
export function scenarioHeading(sc) {
  return `${sc.title}, ${sc.connections} connections${sc.messageBytes ? `, ${sc.messageBytes}-byte messages` : ''}`;
}

/** ' (5 for GET 1 MiB)' when a scenario ran more often than BENCH_REPEATS says, else ''. */
function moreRepeats(summary) {
  const more = summary.scenarios.filter(
    (sc) => sc.repeats != null && sc.repeats !== summary.settings.repeats,
  );
  return more.length === 0 ? '' : ` (${more.map((sc) => `${sc.repeats} for ${sc.title}`).join(', ')})`;
}

function caseRow(c) {
  if (!c.median)
    return `| ${c.proxy} | failed: ${String(c.error).split('\n')[0].replace(/\|/g, '\\|')} | | | | | | | | | | |`;
  const marks = `${c.errors > 0 ? ' †' : ''}${c.loadSideBound ? ' ‡' : ''}`;
  const name = c.proxy === 'dito' ? '**dito**' : c.proxy;
  const cpu = c.median.cpuUsPerRequest == null ? '—' : c.median.cpuUsPerRequest.toFixed(1);
  return `| ${name}${marks} | ${int(c.median.rps)} | ${ms(c.median.p50Ms)} | ${ms(c.median.p99Ms)} | ${cpu} | ${
    c.peakRssMiB == null ? '—' : c.peakRssMiB.toFixed(1)
  } | ±${(c.spreadPercent / 2).toFixed(1)}% | ${c.errors} | ${c.maxOtherLoad.toFixed(2)} | ${percent(
    c.maxSteal.proxy,
  )} / ${percent(c.maxSteal.load)} | ${ratio(c.ditoRatio?.rps)} | ${ratio(c.ditoRatio?.p99)} |`;
}

export function renderMarkdown(summary, chartFile) {
  const { machine: m, settings: s } = summary;
  const lines = [
    `# Dito benchmark, ${summary.finishedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.kernel}, load average at start ${m.loadAverageAtStart.join(' ')}`,
    `- Software: Node ${m.node}, ${m.nginx ?? 'nginx not installed'}, wrk ${m.wrk}, http-proxy ${m.peers['http-proxy']}, fastify ${m.peers.fastify}, @fastify/http-proxy ${m.peers['@fastify/http-proxy']}, undici ${m.peers.undici}`,
    `- Dito: commit ${m.dito.commit ?? '?'}${m.dito.dirty ? ' (with uncommitted changes)' : ''}, \`${m.dito.bin}\``,
    `- Method: ${s.durationSeconds} s per run, ${s.repeats} runs per case${moreRepeats(summary)} interleaved round-robin over the proxies, medians shown; ${s.warmupSeconds} s warm-up per case. ` +
      (s.pinned
        ? `Proxy on CPU ${s.proxyCpus}; wrk (${s.wrkThreads} thread${s.wrkThreads > 1 ? 's' : ''}) and the upstream (${s.upstreamWorkers} process${s.upstreamWorkers > 1 ? 'es' : ''}) on CPU ${s.loadCpus}.`
        : 'Not pinned (taskset unavailable or BENCH_PIN=0).') +
      ` ${s.proxyWorkers} process${s.proxyWorkers > 1 ? 'es' : ''} per proxy.`,
    '',
    'Columns: req/s (messages/s for WebSocket echo: each message sent and its echo received), p50 and p99 latency ' +
      '(wrk or the WebSocket echo client, closed loop), proxy CPU µs = user + system CPU time of the proxy’s processes ' +
      'during a run divided by its requests (messages), peak RSS = VmHWM summed over the proxy’s processes, ' +
      'spread = half the range of req/s over the runs, other load = the most CPU (in cores) that processes outside the bench ' +
      `used during one of the runs, steal = the largest share of the proxy’s CPU time / the load side’s that the ` +
      'hypervisor gave to other guests during one of the runs (on a virtual machine; ' +
      `runs above ${s.maxOtherLoad} cores of other load or ${percent(s.maxSteal)} steal were retried up to ${s.retries} times), ` +
      '**dito ÷ this** = Dito’s median over this row’s ' +
      '(req/s: above 1 = Dito faster; p99: below 1 = Dito’s tail shorter). † = errors or non-2xx answers during the runs. ' +
      '‡ = within 10% of `direct`: the load side (wrk + upstream core), not the proxy, may be the limit.',
    '',
  ];
  const runs = summary.scenarios.flatMap((sc) => sc.cases.flatMap((c) => c.runs));
  const disturbed = runs.filter((r) => (r.otherLoad ?? 0) > s.maxOtherLoad).length;
  if (disturbed > 0) {
    lines.push(
      `**Warning: ${disturbed} of ${runs.length} runs were disturbed by other processes on the machine ` +
        '(see *other load*); treat their rows with caution, or run again on a quiet machine.**',
      '',
    );
  }
  const stolen = runs.filter(
    (r) => Math.max(r.steal?.proxy ?? 0, r.steal?.load ?? 0) > (s.maxSteal ?? Infinity),
  ).length;
  if (stolen > 0) {
    lines.push(
      `**Warning: in ${stolen} of ${runs.length} runs the hypervisor took more than ${percent(s.maxSteal)} of a ` +
        'bench CPU’s time (see *steal*): the host was shared with busy guests, and those runs are slower than the ' +
        'machine is. Compare rows with like steal, or run again when the host is quieter.**',
      '',
    );
  }
  const peers = [
    ...new Set(summary.scenarios.flatMap((sc) => sc.cases.filter((c) => c.ditoRatio).map((c) => c.proxy))),
  ];
  if (peers.length > 0) {
    lines.push(
      '## Dito ÷ each peer (throughput ratio / p99 ratio; throughput = req/s, or messages/s for WebSocket)',
      '',
      `| scenario | ${peers.join(' | ')} |`,
      `|---|${peers.map(() => '---').join('|')}|`,
    );
    for (const sc of summary.scenarios) {
      const cells = peers.map((p) => {
        const c = sc.cases.find((x) => x.proxy === p);
        return c?.ditoRatio ? `${ratio(c.ditoRatio.rps)} / ${ratio(c.ditoRatio.p99)}` : '—';
      });
      lines.push(`| ${sc.title} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  for (const sc of summary.scenarios) {
    lines.push(
      `## ${scenarioHeading(sc)}`,
      '',
      `| proxy | ${sc.unit} | p50 ms | p99 ms | proxy CPU µs/${sc.unit === 'msg/s' ? 'msg' : 'req'} | peak RSS MiB | spread | errors | other load | steal | dito ÷ this ${sc.unit} | dito ÷ this p99 |`,
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
      ...sc.cases.map(caseRow),
      '',
    );
  }
  if (chartFile)
    lines.push(`![req/s (msg/s for WebSocket) and p99 per proxy and scenario](${chartFile})`, '');
  lines.push('How to run and read this: [docs/benchmark.md](../../docs/benchmark.md).', '');
  return lines.join('\n');
}
