/**
 * The kernel BPF filter for live capture: only IMDS traffic reaches user space, so a busy host
 * costs us nothing. Written for libpcap's filter language (pcap-filter(7)).
 *
 * - IPv4: TCP port 80 to or from 169.254.169.254.
 * - IPv6: anything to or from fd00:ec2::254. BPF's `tcp` only looks at the fixed header's next
 *   header field, so a TCP segment behind extension headers would not match `tcp port 80`;
 *   decode walks the chain and drops what is not TCP port 80 instead.
 * - VLAN-tagged frames (Ethernet only; libpcap refuses `vlan` on other link types): each
 *   `vlan` keyword shifts the offsets for the rest of the expression by one tag, so the second
 *   `vlan and (...)` term matches two stacked tags (802.1ad QinQ).
 */

export const IMDS_IPV4 = '169.254.169.254';
export const IMDS_IPV6 = 'fd00:ec2::254';
export const IMDS_PORT = 80;

export interface FilterOptions {
  /** Add terms for one and two VLAN tags; only valid on Ethernet interfaces. */
  readonly vlan: boolean;
}

const BASE = `(ip host ${IMDS_IPV4} and tcp port ${IMDS_PORT}) or (ip6 host ${IMDS_IPV6})`;

export function imdsBpfFilter(options: FilterOptions): string {
  if (!options.vlan) return BASE;
  return `${BASE} or (vlan and (${BASE})) or (vlan and (${BASE}))`;
}
