/**
 * Which interface to capture on when the user names none: the one holding the default route
 * (on EC2 that is the primary ENI, where IMDS traffic goes), found by systeminformation.
 */
import { readFileSync } from 'node:fs';
import si from 'systeminformation';

/** Looks up the default-route interface; empty string or rejection when there is none. */
export type DefaultInterfaceLookup = () => Promise<string>;

/**
 * The interface to capture on: `requested` when given, else the default-route interface,
 * else `any` (all interfaces, Linux cooked capture) so a host without a default route still
 * sees IMDS traffic.
 */
export async function resolveCaptureInterface(
  requested: string | undefined,
  lookup: DefaultInterfaceLookup = () => si.networkInterfaceDefault(),
): Promise<string> {
  if (requested !== undefined && requested !== '') return requested;
  try {
    const name = await lookup();
    if (name !== '') return name;
  } catch {
    // No route table readable: fall through to `any`.
  }
  return 'any';
}

/** ARPHRD_ETHER: the interface carries Ethernet frames, so VLAN filter terms are valid. */
export function isEthernetInterface(name: string, sysfs = '/sys/class/net'): boolean {
  if (name === 'any' || name.includes('/')) return false;
  try {
    return readFileSync(`${sysfs}/${name}/type`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}
