/**
 * Every anomaly name decode can return, in one place so the summary, the docs and the tests
 * agree on the spelling. `ignored` reasons are traffic that is not ours; the rest are `malformed`.
 */
export const DecodeReason = {
  // ignored: legitimately not IMDS traffic
  notIp: 'decode.not_ip',
  notTcp: 'decode.not_tcp',
  // malformed or unsupported link layer
  unknownLinktype: 'decode.unknown_linktype',
  truncatedEthernet: 'decode.truncated_ethernet',
  truncatedVlan: 'decode.truncated_vlan',
  tooManyVlanTags: 'decode.too_many_vlan_tags',
  truncatedSll: 'decode.truncated_sll',
  truncatedSll2: 'decode.truncated_sll2',
  truncatedNull: 'decode.truncated_null',
  unknownAddressFamily: 'decode.unknown_address_family',
  rawUnknownVersion: 'decode.raw_unknown_version',
  // IPv4
  truncatedIpv4: 'decode.truncated_ipv4',
  ipv4BadVersion: 'decode.ipv4_bad_version',
  ipv4BadHeaderLength: 'decode.ipv4_bad_header_length',
  ipv4BadTotalLength: 'decode.ipv4_bad_total_length',
  ipv4Fragment: 'decode.ipv4_fragment',
  // IPv6
  truncatedIpv6: 'decode.truncated_ipv6',
  ipv6BadVersion: 'decode.ipv6_bad_version',
  ipv6Jumbogram: 'decode.ipv6_jumbogram',
  ipv6TruncatedExtensionHeader: 'decode.ipv6_truncated_extension_header',
  ipv6TooManyExtensionHeaders: 'decode.ipv6_too_many_extension_headers',
  ipv6Fragment: 'decode.ipv6_fragment',
  // TCP
  truncatedTcp: 'decode.truncated_tcp',
  tcpBadDataOffset: 'decode.tcp_bad_data_offset',
} as const;

export type DecodeReasonName = (typeof DecodeReason)[keyof typeof DecodeReason];
