/**
 * What a process's cgroup path says about where it runs: systemd unit, container, pod.
 * Pure functions over the text of /proc/<pid>/cgroup.
 *
 *   v2:  0::/system.slice/docker-<64hex>.scope
 *   v1:  12:pids:/docker/<64hex>      1:name=systemd:/kubepods/besteffort/pod<uid>/<64hex>
 */

export interface CgroupFacts {
  /** The path we read the rest from (v2 unified, else systemd, else pids, else the first). */
  readonly path: string | undefined;
  readonly systemdUnit: string | undefined;
  readonly container: { readonly id: string; readonly runtime: string } | undefined;
  readonly podUid: string | undefined;
}

/** The most telling path of a /proc/<pid>/cgroup file. */
export function chooseCgroupPath(text: string): string | undefined {
  const byController = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (path === '') continue;
    if (!byController.has(controllers)) byController.set(controllers, path);
  }
  for (const c of ['', 'name=systemd', 'pids']) {
    const p = byController.get(c);
    if (p !== undefined) return p;
  }
  for (const [c, p] of byController) if (c.split(',').includes('pids')) return p;
  return byController.values().next().value;
}

const HEX64 = '([0-9a-f]{64})';

/** [pattern, runtime]: the container id is the first capture group. Order matters. */
const CONTAINER_PATTERNS: readonly (readonly [RegExp, string])[] = [
  [new RegExp(`(?:^|/)docker-${HEX64}\\.scope$`), 'docker'],
  [new RegExp(`(?:^|/)docker/${HEX64}(?:/|$)`), 'docker'],
  [new RegExp(`(?:^|/)cri-containerd-${HEX64}\\.scope$`), 'containerd'],
  [new RegExp(`(?:^|/)nerdctl-${HEX64}\\.scope$`), 'containerd'],
  [new RegExp(`(?:^|/)crio-(?:conmon-)?${HEX64}\\.scope$`), 'cri-o'],
  [new RegExp(`(?:^|/)crio-${HEX64}(?:/|$)`), 'cri-o'],
  [new RegExp(`(?:^|/)libpod-(?:conmon-)?${HEX64}(?:\\.scope)?(?:/|$)`), 'podman'],
  // cgroupfs driver of kubelet (v1): /kubepods/<qos>/pod<uid>/<id>; the runtime is not named.
  [new RegExp(`(?:^|/)kubepods/(?:[a-z]+/)?pod[0-9a-f_-]{36}/${HEX64}$`), 'cri'],
  // containerd without kubernetes: /<namespace>/<id> (e.g. /default/<id> from ctr).
  [new RegExp(`^/[a-z0-9_.-]+/${HEX64}$`), 'containerd'],
];

const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

/** The innermost `.service` (or non-container `.scope`) segment of the path. */
function unitOf(path: string): string | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i] ?? '';
    if (s.endsWith('.service')) return s;
    if (s.endsWith('.scope') && !/[0-9a-f]{64}\.scope$/.test(s)) return s;
  }
  return undefined;
}

export function parseCgroup(text: string): CgroupFacts {
  const path = chooseCgroupPath(text);
  if (path === undefined) {
    return { path: undefined, systemdUnit: undefined, container: undefined, podUid: undefined };
  }
  let container: CgroupFacts['container'];
  for (const [re, runtime] of CONTAINER_PATTERNS) {
    const m = re.exec(path);
    if (m?.[1] !== undefined) {
      container = { id: m[1], runtime };
      break;
    }
  }
  const pod = POD_UID.exec(path)?.[1]?.replace(/_/g, '-');
  return { path, systemdUnit: unitOf(path), container, podUid: pod };
}
