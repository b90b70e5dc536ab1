// The diagnostics catalogue, as data: every code that validate, build, plan or apply can emit, with a one-line
// summary, a long explanation and a bad and a good example. `s2sgw explain CODE` and `s2sgw rules` print it,
// scripts/rules-doc.js turns it into docs/rules.md, and test/catalogue.test.ts holds it to the codes in src/.

/** Where in the pipeline a code comes from; also the section of docs/rules.md. */
export type Phase = 'yaml' | 'schema' | 'rules' | 'lock' | 'check';

export interface CatalogueEntry {
  /** The code as printed, or for a family a pattern with a placeholder in angle brackets (`<target>/check`). */
  code: string;
  /** A family's concrete codes (every one is emitted somewhere in src/). Absent for a plain code. */
  codes?: string[];
  phase: Phase;
  /** error, warning, or both (a finding that is a warning unless CI asks for more, or depends on the case). */
  severity: 'error' | 'warning' | 'error or warning';
  /** One line for `s2sgw rules`. */
  summary: string;
  /** Markdown: what it means, why it matters, how to fix it. */
  explanation: string;
  /** What triggers it, and the same thing fixed. YAML unless `lang` says otherwise. */
  bad: string;
  good: string;
  lang?: 'yaml' | 'text' | 'sh';
}

/** The targets whose `check()` runs a real program: the `<target>/...` families. */
export const TARGETS = ['frr', 'keepalived', 'links', 'netplan', 'nftables', 'strongswan', 'sysctl', 'tc'];

export const CATALOGUE: CatalogueEntry[] = [
  {
    code: 'yaml/syntax',
    phase: 'yaml',
    severity: 'error',
    summary: 'the file is not valid YAML',
    explanation: `The file is not valid YAML. Every syntax error of the file is reported, not only the first.
A file holding a second document (\`---\`) or a tab used for indentation is reported here too.
Fix: close the bracket or quote, or fix the indent. YAML often notices a problem a line or two
after its cause, so look above the reported line.`,
    bad: `gateways: [gw1          # the list is never closed
network:`,
    good: `gateways: [gw1]
network:
  vlan: 101`,
  },
  {
    code: 'yaml/duplicate-key',
    phase: 'yaml',
    severity: 'error',
    summary: 'a key appears twice in one mapping',
    explanation: `A key appears twice in one mapping; YAML would silently keep one. Reported at the second key, with
the first under \`related\`.
Fix: remove one of them, or merge their contents.`,
    bad: `network:
  vlan: 101
  vlan: 102`,
    good: `network:
  vlan: 101`,
  },
  {
    code: 'yaml/empty',
    phase: 'yaml',
    severity: 'error',
    summary: 'the file holds nothing, or only comments',
    explanation: `The file holds nothing (or only comments).
Fix: write the tenant (\`tenant: NAME\` ...) or delete the file.`,
    bad: `# tenants/alpha.yaml
# TODO`,
    good: `# tenants/alpha.yaml
tenant: alpha
gateways: [gw1]
network: { interface: IfAi1, vlan: 101, addresses: [192.168.0.1/29] }`,
  },
  {
    code: 'yaml/not-a-mapping',
    phase: 'yaml',
    severity: 'error',
    summary: 'the file\'s top level is a list or a single value, not a mapping of keys',
    explanation: `The file's top level is a list or a single value, not a mapping of keys.
Fix: start the file with \`tenant: NAME\` (or \`gateway: NAME\`) at column 1.`,
    bad: `- tenant: alpha`,
    good: `tenant: alpha`,
  },
  {
    code: 'yaml/encoding',
    phase: 'yaml',
    severity: 'error',
    summary: 'the file is not UTF-8',
    explanation: `The file is not UTF-8 (usually an editor saving Latin-1 or Windows-1252). The place is the first
byte that is not UTF-8.
Fix: save the file as UTF-8.`,
    bad: `$ file tenants/alpha.yaml
tenants/alpha.yaml: ISO-8859 text`,
    good: `$ iconv -f latin1 -t utf-8 tenants/alpha.yaml > x && mv x tenants/alpha.yaml
$ file tenants/alpha.yaml
tenants/alpha.yaml: UTF-8 Unicode text`,
    lang: 'sh',
  },
  {
    code: 'yaml/too-large',
    phase: 'yaml',
    severity: 'error',
    summary: 'the file is bigger than 1 MiB, so s2sgw does not read it',
    explanation: `The file is bigger than 1 MiB; s2sgw does not read it. A hand-written tenant is a few hundred bytes.
Fix: check what generated it; split it.`,
    bad: `$ ls -l tenants/alpha.yaml
-rw-r--r-- 1 ci ci 3145728 tenants/alpha.yaml`,
    good: `$ ls -l tenants/alpha.yaml
-rw-r--r-- 1 ci ci 612 tenants/alpha.yaml`,
    lang: 'sh',
  },
  {
    code: 'yaml/unreadable',
    phase: 'yaml',
    severity: 'error',
    summary: 'a tenant or gateway file that cannot be read (permissions, I/O error)',
    explanation: `A file under \`gateways/\` or \`tenants/\` that cannot be read: no permission, or an I/O error.
Fix: check the file's permissions.`,
    bad: `$ ls -l tenants/alpha.yaml
--w------- 1 root root 612 tenants/alpha.yaml`,
    good: `$ chmod 644 tenants/alpha.yaml`,
    lang: 'sh',
  },
  {
    code: 'yaml/not-a-file',
    phase: 'yaml',
    severity: 'error',
    summary: 'a tenant, gateway or lock file that is a symbolic link or not a regular file',
    explanation: `A file under \`gateways/\` or \`tenants/\` (or \`allocations.lock.yaml\`, or the \`gateways/\`/\`tenants/\`
folder itself) that is a symbolic link, or not a regular file at all (a folder named \`x.yaml\`, a
FIFO, a device). s2sgw reads files without following links (\`O_NOFOLLOW\`, then \`fstat\` of the
open file), from disk and from a Git ref alike (a blob of mode 120000 is a link): a link committed
in a pull request could otherwise make s2sgw read any file of the machine, such as
\`/proc/self/environ\`, and print it in a code frame. Nothing of the file is read or printed.
Fix: commit the file itself, not a link to it.`,
    bad: `$ ls -l tenants/
lrwxrwxrwx 1 ci ci 22 alpha.yaml -> /etc/s2sgw/secrets/key`,
    good: `$ ls -l tenants/
-rw-r--r-- 1 ci ci 612 alpha.yaml`,
    lang: 'sh',
  },
  {
    code: 'yaml/file-name',
    phase: 'yaml',
    severity: 'error',
    summary: 'a file name with characters other than letters, digits, `.`, `_` and `-`',
    explanation: `A file under \`gateways/\` or \`tenants/\` whose name has characters other than letters, digits, \`.\`,
\`_\` and \`-\` (a space, a control character, a line break). The file is not read, and its name is
printed with those characters escaped (\`\\n\`, \`\\x1b\`): a name holding a line break and
\`::add-mask::\` must not start a line a CI runner obeys.
Fix: name the file after its tenant or gateway (\`tenants/contoso.yaml\`).`,
    bad: `$ ls tenants/
'alpha copy.yaml'`,
    good: `$ git mv 'tenants/alpha copy.yaml' tenants/alpha.yaml`,
    lang: 'sh',
  },
  {
    code: 'yaml/alias-limit',
    phase: 'yaml',
    severity: 'error',
    summary: 'anchors and aliases expand to more than 100 alias uses',
    explanation: `Anchors and aliases (\`&a\`, \`*a\`) expand to more than 100 alias uses: an "alias bomb" that would eat
memory. Reported at the first alias, without expanding it.
Fix: write values out. Tenant files need no aliases.`,
    bad: `a: &a [x, x, x]
b: &b [*a, *a, *a]
c: [*b, *b, *b]       # ... and so on`,
    good: `a: [x, x, x]
b: [x, x, x, x, x, x, x, x, x]`,
  },
  {
    code: 'schema/too-long',
    phase: 'schema',
    severity: 'error',
    summary: 'a text value longer than its field can use',
    explanation: `A text value longer than its field can use: interface and tenant names 15 characters (their
patterns), addresses 45, prefixes 49, DNS names 253, certificate subjects 1,024, secret references
1,024, host paths 4,096, proposals 256. Only the length is reported: the value is not echoed.
Fix: check what wrote the value.`,
    bad: `interface: IfAe1IfAe1IfAe1IfAe1    # 20 characters; at most 15`,
    good: `interface: IfAe1`,
  },
  {
    code: 'schema/unknown-key',
    phase: 'schema',
    severity: 'error',
    summary: 'a key the schema does not know',
    explanation: `A key the schema does not know (every mapping is closed). The hint suggests the nearest known key
and lists the allowed ones. A misspelt required key is reported only here, not also as missing.
Fix: correct the spelling, or remove the key.`,
    bad: `connections:
  - interface: IfCe1
    destinaton: 131.107.0.10     # did you mean \`destination\`?`,
    good: `connections:
  - interface: IfCe1
    destination: 131.107.0.10`,
  },
  {
    code: 'schema/required',
    phase: 'schema',
    severity: 'error',
    summary: 'a required key is missing',
    explanation: `A required key is missing (at the mapping that lacks it; top-level keys at 1:1).
Fix: add the key; the hint quotes its description.`,
    bad: `connections:
  - interface: IfCe1
    destination: 131.107.0.10    # \`connections[0]\` is missing \`auth\``,
    good: `connections:
  - interface: IfCe1
    destination: 131.107.0.10
    auth: { psk: env:CONTOSO_NY_PSK }`,
  },
  {
    code: 'schema/type',
    phase: 'schema',
    severity: 'error',
    summary: 'a value of the wrong kind (text for a number, a value for a list)',
    explanation: `A value of the wrong kind: text where a number belongs, a single value where a list belongs.
Fix: write the value as the message says (\`vlan: 4000\`, \`addresses: [192.168.0.1/29]\`). On \`psk\`
and EAP \`secret\` the value is never shown.`,
    bad: `vlan: "4000"          # must be a whole number from 1 to 4094, got the text \`4000\`
addresses: 192.168.0.1/29        # must be a list`,
    good: `vlan: 4000
addresses: [192.168.0.1/29]`,
  },
  {
    code: 'schema/range',
    phase: 'schema',
    severity: 'error',
    summary: 'a number outside its range',
    explanation: `A number outside its range. The ranges: \`vlan\` 1-4094; \`vsid\` 4096-16,777,214 (the virtual subnet range);
\`asn\`, \`remoteAsn\` 1-4,294,967,295 (4-byte); \`txKbps\`, \`rxKbps\` 8-10,000,000; route \`metric\`
1-255; \`icmpType\`, \`icmpCode\` 0-255; \`maxPrefixes\` 1 or more.
Fix: pick a value in the range.`,
    bad: `vlan: 4095            # \`vlan\` must be a whole number from 1 to 4094, got 4095`,
    good: `vlan: 4000`,
  },
  {
    code: 'schema/port',
    phase: 'schema',
    severity: 'error',
    summary: 'a port outside 1-65535, or a range that is not low-high',
    explanation: `A port outside 1-65535, or a range that is not \`low-high\` with low below high.
Fix: \`destinationPort: 443\` or \`sourcePort: 1000-2000\`.`,
    bad: `- { protocol: tcp, destinationPort: 70000 }
- { protocol: udp, sourcePort: 2000-1000 }`,
    good: `- { protocol: tcp, destinationPort: 443 }
- { protocol: udp, sourcePort: 1000-2000 }`,
  },
  {
    code: 'schema/pattern',
    phase: 'schema',
    severity: 'error',
    summary: 'a name or text of the wrong form',
    explanation: `A name or text of the wrong form:
- \`tenant\`: 1-15 characters of \`a-z 0-9 -\`, starting with a letter (it is the VRF device name);
- \`gateway\` and entries of \`gateways\`: a host name (\`a-z 0-9 -\`);
- interface names: 1-15 characters of \`A-Z a-z 0-9 _ . -\` (Linux's limit);
- \`routingDomain\`: a GUID in braces, \`{12345678-1000-2000-3000-123456780001}\`;
- durations (\`dpd\`, \`lifetime\`): a whole number and \`s\`, \`m\`, \`h\` or \`d\`, like \`30s\`, \`8h\`;
- host paths (\`identity\`): absolute, without spaces or quotes;
- certificate \`subject\`: a DN like \`CN=ny.contoso.example, O=Contoso\`, without control characters,
  line breaks, quotes, backslashes or braces (any of them would end the value in swanctl.conf);
- \`reservedInterfaces\` entries: glob patterns of \`A-Z a-z 0-9 _ . -\` and \`* ? [ ] !\`.
Every message that echoes a value shows at most 60 characters of it, with control characters and
line breaks escaped.
Fix: as the message says.`,
    bad: `interface: IfContosoNewYork1     # 17 characters
routingDomain: 12345678-1000-2000-3000-123456780001   # braces missing
dpd: 30 sec`,
    good: `interface: IfCny1
routingDomain: "{12345678-1000-2000-3000-123456780001}"
dpd: 30s`,
  },
  {
    code: 'schema/enum',
    phase: 'schema',
    severity: 'error',
    summary: 'a value that is not one of the listed words',
    explanation: `A value that is not one of the listed words (\`connect\`, \`direction\`, \`protocol\`, EAP \`method\`).`,
    bad: `connect: ondemand     # did you mean \`on-demand\`?`,
    good: `connect: on-demand`,
  },
  {
    code: 'schema/min-items',
    phase: 'schema',
    severity: 'error',
    summary: 'a list or map that must not be empty is empty',
    explanation: `A list or map that must not be empty is empty (\`gateways\`, \`addresses\`, \`permit\`, \`deny\`, proposals,
\`network.ha.addresses\`).
Fix: list at least one item, or remove the key when it is optional.`,
    bad: `gateways: []`,
    good: `gateways: [gw1]`,
  },
  {
    code: 'schema/duplicate-item',
    phase: 'schema',
    severity: 'error',
    summary: 'a list names the same item twice',
    explanation: `A list names the same item twice (\`gateways: [gw1, gw1]\`, two identical routes).
Fix: remove the repeat.`,
    bad: `gateways: [gw1, gw1]`,
    good: `gateways: [gw1]`,
  },
  {
    code: 'schema/one-of',
    phase: 'schema',
    severity: 'error',
    summary: '`auth` takes exactly one of `psk`, `certificate`, `eap`',
    explanation: `\`auth\` takes exactly one of \`psk\`, \`certificate\`, \`eap\`; it has two, or none.
Fix: keep the one the site uses.`,
    bad: `auth:
  psk: env:ALPHA_PSK
  certificate: { subject: "CN=ny.alpha.example" }`,
    good: `auth:
  psk: env:ALPHA_PSK`,
  },
  {
    code: 'schema/address',
    phase: 'schema',
    severity: 'error',
    summary: 'not an IP address, or one of the wrong family',
    explanation: `Not an IP address, or one of the wrong family: \`source\`, \`vteps\`, \`underlayAddress\`, external
\`addresses\` and BGP neighbor \`address\` take an IPv4 or IPv6 address without prefix length;
\`routerId\` takes an IPv4 address only.`,
    bad: `source: 203.0.113       # not an address
routerId: 2001:db8::1   # a router id is IPv4`,
    good: `source: 203.0.113.10
routerId: 192.168.0.1`,
  },
  {
    code: 'schema/prefix',
    phase: 'schema',
    severity: 'error',
    summary: 'not a network prefix where one belongs',
    explanation: `Not a prefix (\`10.1.0.0/16\`) where one belongs (\`routes[].to\`, \`advertise\`, filter \`source\` and
\`destination\`), a prefix length past the family's (33 for IPv4, 129 for IPv6), or a network
address without its length (\`network.addresses\` take \`192.168.0.1/29\`).
Fix: write the address with its prefix length.`,
    bad: `routes:
  - { to: 10.1.0.0 }          # no prefix length
advertise: [192.168.0.0/33]`,
    good: `routes:
  - { to: 10.1.0.0/16 }
advertise: [192.168.0.0/29]`,
  },
  {
    code: 'schema/host-bits',
    phase: 'schema',
    severity: 'error',
    summary: 'a prefix with host bits set',
    explanation: `A prefix with host bits set: \`10.1.0.1/16\` names no network. The message and hint give the prefix.
Fix: write the network address, \`10.1.0.0/16\`. (A tenant's own \`network.addresses\` are interface
addresses, so \`192.168.0.1/29\` is right there.)`,
    bad: `routes:
  - { to: 10.1.0.1/16 }      # as a prefix it is 10.1.0.0/16`,
    good: `routes:
  - { to: 10.1.0.0/16 }`,
  },
  {
    code: 'schema/destination',
    phase: 'schema',
    severity: 'error',
    summary: 'a connection destination that is neither an IP address nor a DNS name',
    explanation: `A connection \`destination\` that is neither an IP address nor a DNS name.`,
    bad: `destination: 131.107.1.300`,
    good: `destination: 131.107.1.30`,
  },
  {
    code: 'schema/proposal',
    phase: 'schema',
    severity: 'error',
    summary: 'an IKE or ESP proposal with a word that is not a strongSwan algorithm keyword',
    explanation: `An IKE or ESP proposal with a word that is not a strongSwan algorithm keyword. The accepted
keywords are in \`src/model/algorithms.ts\`, from strongSwan's documented IKEv2 cipher suites:
encryption (\`aes128\` ... \`aes256gcm16\`, \`chacha20poly1305\`, ...), integrity (\`sha256\`, \`sha384\`,
...), PRF for IKE (\`prfsha384\`, ...), DH groups (\`ecp384\`, \`modp2048\`, \`curve25519\`, ...), and
\`esn\`/\`noesn\` for ESP.
Fix: correct the keyword (\`ecp384\`).`,
    bad: `ike: { proposals: [aes256gcm16-prfsha384-ecp385] }   # \`ecp385\` is not a keyword`,
    good: `ike: { proposals: [aes256gcm16-prfsha384-ecp384] }`,
  },
  {
    code: 'tenant-file-name',
    phase: 'rules',
    severity: 'error',
    summary: 'a tenant file whose `tenant:` differs from its file name',
    explanation: `A tenant's \`tenant:\` differs from its file name (\`tenants/alpha.yaml\` says \`tenant: alpha2\`). A
reviewer looks for tenant \`x\` in \`tenants/x.yaml\`, and nowhere else.
Fix: rename the file or the tenant.`,
    bad: `# tenants/alpha.yaml
tenant: alpha2`,
    good: `# tenants/alpha.yaml
tenant: alpha`,
  },
  {
    code: 'gateway-file-name',
    phase: 'rules',
    severity: 'error',
    summary: 'a gateway file whose `gateway:` differs from its file name',
    explanation: `A gateway's \`gateway:\` differs from its file name; its bundle is \`out/<gateway>/\`.
Fix: rename the file or the gateway.`,
    bad: `# gateways/gw1.yaml
gateway: gw-1`,
    good: `# gateways/gw1.yaml
gateway: gw1`,
  },
  {
    code: 'duplicate-gateway',
    phase: 'rules',
    severity: 'error',
    summary: 'two gateway files with the same `gateway:` name',
    explanation: `Two gateway files name the same gateway (\`gateways/gw1.yaml\` and \`gateways/gw1.yml\`).
Fix: keep one file per gateway.`,
    bad: `# gateways/gw1.yaml
gateway: gw1
---
# gateways/gw1-copy.yaml
gateway: gw1`,
    good: `# gateways/gw1.yaml
gateway: gw1
---
# gateways/gw2.yaml
gateway: gw2`,
  },
  {
    code: 'unknown-gateway',
    phase: 'rules',
    severity: 'error',
    summary: 'a tenant lists a gateway that has no file under gateways/',
    explanation: `A tenant lists a gateway that has no file under \`gateways/\`.
Fix: correct the name (the hint lists the gateways), or add the gateway file first.`,
    bad: `gateways: [gw1, gw2]      # there is no gateways/gw2.yaml`,
    good: `gateways: [gw1]               # gateways/gw1.yaml exists`,
  },
  {
    code: 'duplicate-tenant',
    phase: 'rules',
    severity: 'error',
    summary: 'two tenant files with the same `tenant:` name',
    explanation: `Two tenant files with the same \`tenant:\` (e.g. \`tenants/alpha.yaml\` and \`tenants/alpha.yml\`). The
name is the VRF device, the key in \`allocations.lock.yaml\` and the tenant's bundle sections, so it is
unique in the whole repository.
Fix: rename one tenant (and its file).`,
    bad: `# tenants/alpha.yaml
tenant: alpha
---
# tenants/alpha-old.yaml
tenant: alpha`,
    good: `# tenants/alpha.yaml   (tenants/alpha-old.yaml deleted)
tenant: alpha`,
  },
  {
    code: 'duplicate-routing-domain',
    phase: 'rules',
    severity: 'error',
    summary: 'two tenants with the same routing domain (GUID or label)',
    explanation: `Two tenants with the same \`routingDomain\` (a GUID in braces, compared case-insensitively, or a label):
a copied file whose routing domain was not changed. \`routingDomain\` is optional; tenants without one
never clash.
Fix: give the new tenant its own label or GUID (\`uuidgen\`), or leave the key out.`,
    bad: `# tenants/alpha.yaml
routingDomain: "{12345678-1000-2000-3000-123456780001}"
---
# tenants/beta.yaml
routingDomain: "{12345678-1000-2000-3000-123456780001}"`,
    good: `# tenants/alpha.yaml
routingDomain: "{12345678-1000-2000-3000-123456780001}"
---
# tenants/beta.yaml
routingDomain: "{12345678-1000-2000-3000-123456780002}"`,
  },
  {
    code: 'duplicate-vlan',
    phase: 'rules',
    severity: 'error',
    summary: 'two tenants on one gateway use the same VLAN id',
    explanation: `Two tenants on one gateway with the same \`vlan\`: their frames would arrive on one sub-interface.
Fix: give each tenant its own VLAN id.`,
    bad: `# tenants/alpha.yaml
network: { interface: IfAi1, vlan: 101, addresses: [192.168.0.1/29] }
---
# tenants/beta.yaml (on the same gateway)
network: { interface: IfBi1, vlan: 101, addresses: [192.168.0.1/29] }`,
    good: `# tenants/alpha.yaml
network: { interface: IfAi1, vlan: 101, addresses: [192.168.0.1/29] }
---
# tenants/beta.yaml
network: { interface: IfBi1, vlan: 102, addresses: [192.168.0.1/29] }   # overlapping addresses are fine`,
  },
  {
    code: 'duplicate-vsid',
    phase: 'rules',
    severity: 'error',
    summary: 'two tenants on one gateway use the same VSID (VXLAN VNI)',
    explanation: `Two tenants on one gateway with the same \`vsid\` (the VXLAN VNI).
Fix: give each tenant its own VSID.`,
    bad: `# tenants/alpha.yaml
network: { interface: IfAi1, vsid: 5001, addresses: [192.168.0.1/29] }
---
# tenants/beta.yaml (on the same gateway)
network: { interface: IfBi1, vsid: 5001, addresses: [192.168.0.1/29] }`,
    good: `# tenants/alpha.yaml
network: { interface: IfAi1, vsid: 5001, addresses: [192.168.0.1/29] }
---
# tenants/beta.yaml
network: { interface: IfBi1, vsid: 5002, addresses: [192.168.0.1/29] }`,
  },
  {
    code: 'duplicate-interface',
    phase: 'rules',
    severity: 'error',
    summary: 'two interfaces (or VRFs) with the same name on one gateway',
    explanation: `Two devices with one name on a gateway. Interface and VRF names share the host's one namespace (what
\`ip link\` shows): the gateway's \`external.interface\` and \`trunk.interface\`, every tenant's VRF
(named after the tenant), every tenant's \`network.interface\`, every connection \`interface\`.
Also reported: a name Linux reserves (\`.\`, \`..\`, \`lo\`, \`all\`, \`default\`).
Fix: rename the later one. By convention a tenant's interfaces carry its initial (\`IfCi1\`, \`IfCe1\`
for Contoso, \`IfWi1\`, \`IfWe1\` for Woodgrove).`,
    bad: `# tenants/beta.yaml
connections:
  - interface: IfAe1      # already tenant alpha's connection on gateway gw1`,
    good: `# tenants/beta.yaml
connections:
  - interface: IfBe1      # beta's own name`,
  },
  {
    code: 'reserved-interface-name',
    phase: 'rules',
    severity: 'error',
    summary: 'a tenant\'s VRF or interface name that is a host device\'s, starts with `-`, or is an FRR keyword',
    explanation: `A tenant's VRF (its name), network interface or connection interface would take a name that is not
the tenant's to take:
- it starts with \`-\` (\`ip link add -h ...\` reads an option);
- it is a word FRR reads as a keyword where s2sgw writes an interface name (\`ip route PREFIX IFACE\`
  in the tenant's \`vrf\` block): \`blackhole\`, \`reject\`, \`Null0\` (and any name starting with
  \`null0\`: staticd compares only those five letters), \`label\`, \`table\`, \`tag\`, \`vrf\`,
  \`nexthop-vrf\`, \`onlink\`, \`color\`, \`segments\`, \`bfd\`, \`default\`, \`interface\`, \`ip\`, \`ipv6\`,
  \`exit\`, \`exit-vrf\`, \`end\`, \`no\`, in any case;
- a tenant named \`default\` or \`all\` (\`vrf default\` is FRR's main instance; \`conf/all\` and
  \`conf/default\` are sysctl settings);
- it matches a pattern of the host's own devices: the gateway file's \`reservedInterfaces\`, and
  always the built-in list \`lo\`, \`eth[0-9]*\`, \`en[opsx][0-9a-f]*\`, \`enP[0-9]*\`, \`wlan[0-9]*\`,
  \`wl[opx][0-9a-f]*\`, \`wwan[0-9]*\`, \`ww[px][0-9a-f]*\`, \`docker*\`, \`br-*\`, \`veth*\`, \`virbr*\`,
  \`vnet[0-9]*\`, \`lxcbr*\`, \`lxdbr*\`, \`bond[0-9]*\`, \`team[0-9]*\`, \`tun[0-9]*\`, \`tunl[0-9]*\`,
  \`tap[0-9]*\`, \`vxlan_sys*\`, \`ip6tnl[0-9]*\`, \`ip_vti[0-9]*\`, \`ip6_vti[0-9]*\`, \`sit[0-9]*\`,
  \`gre[0-9]*\`, \`gretap[0-9]*\`, \`erspan[0-9]*\`, \`ip6gre[0-9]*\`, \`ip6erspan[0-9]*\`, \`dummy[0-9]*\`,
  \`ifb[0-9]*\`, \`ppp[0-9]*\`, \`wg[0-9]*\`, \`ovs-system\`, \`nlmon[0-9]*\`. The list is narrow on purpose
  (a digit where the convention has one), so \`green\`, \`site1\` or \`IfCi1\` stay free.
\`reservedInterfaces\` **adds** to the built-in list; it cannot remove from it (a host device taken
over by a tenant is never what an operator wants). Patterns are case-sensitive, as Linux device
names are. One exception: a network interface named \`<trunk>.<vlan>\` after its own VLAN on this
gateway's trunk (\`eth1.301\` for \`vlan: 301\` on trunk \`eth1\`) is exactly the device s2sgw makes, and
is allowed. A name equal to the gateway's \`external\` or \`trunk\` interface is \`duplicate-interface\`.
Fix: pick another name; by convention a tenant's interfaces carry its initial (\`IfAi1\`, \`IfAe1\`).`,
    bad: `# gateways/gw1.yaml
reservedInterfaces: [mgmt*, "ens1f[0-9]*"]
# tenants/alpha.yaml
network: { interface: docker0, vlan: 101, addresses: [192.168.0.1/29] }   # a host device
connections:
  - interface: Null0        # \`ip route 10.1.0.0/16 Null0\` is a blackhole route`,
    good: `# tenants/alpha.yaml
network: { interface: IfAi1, vlan: 101, addresses: [192.168.0.1/29] }
connections:
  - interface: IfAe1`,
  },
  {
    code: 'wildcard-identity',
    phase: 'rules',
    severity: 'error',
    summary: 'a connection whose destination or certificate subject matches any peer (0.0.0.0, ::, multicast, broadcast, CN=*, an empty value)',
    explanation: `A connection whose peer identity matches more than one peer, so that one tenant's connection could
answer for sites that belong to others:
- \`destination\` is the unspecified address (\`0.0.0.0\`, any of \`0.0.0.0/8\`, \`::\`, or the
  IPv4-mapped \`::ffff:0.0.0.0\`), which strongSwan reads as \`%any\`; a multicast address
  (\`224.0.0.0/4\`, \`ff00::/8\`); or the broadcast address \`255.255.255.255\`;
- a certificate \`subject\` with a \`*\` in any attribute, an attribute with an empty value
  (\`O=\`), or a part that is not \`attribute=value\`.
Fix: the site's own public address; the peer certificate's full subject with exact values.`,
    bad: `  - interface: IfAe1
    destination: 0.0.0.0
  - interface: IfAe2
    auth: { certificate: { subject: "CN=*, O=Alpha" } }`,
    good: `  - interface: IfAe1
    destination: 131.107.0.10
  - interface: IfAe2
    auth: { certificate: { subject: "CN=ny.alpha.example, O=Alpha" } }`,
  },
  {
    code: 'duplicate-certificate-subject',
    phase: 'rules',
    severity: 'error',
    summary: 'two certificate connections on one gateway expect the same peer subject',
    explanation: `Two certificate connections on one gateway expect the same peer subject DN (compared with
attribute names case-insensitive and spaces around \`,\` ignored). The gateway picks a certificate
connection by the peer's subject, so it could not tell them apart.
Fix: issue each site a certificate with its own subject.`,
    bad: `# tenants/alpha.yaml
auth: { certificate: { subject: "CN=ny.example, O=Example" } }
---
# tenants/beta.yaml (on the same gateway)
auth: { certificate: { subject: "CN=ny.example, O=Example" } }`,
    good: `# tenants/alpha.yaml
auth: { certificate: { subject: "CN=ny.alpha.example, O=Alpha" } }
---
# tenants/beta.yaml
auth: { certificate: { subject: "CN=ny.beta.example, O=Beta" } }`,
  },
  {
    code: 'duplicate-eap-username',
    phase: 'rules',
    severity: 'error',
    summary: 'two EAP connections on one gateway whose usernames differ only in case',
    explanation: `Two EAP connections on one gateway whose usernames (their interface names) differ only in case
(\`IfAe1\` and \`ifae1\`).
Fix: rename one connection's interface.`,
    bad: `# tenants/alpha.yaml
connections:
  - interface: Branch1
    auth: { eap: { method: mschapv2, secret: env:ALPHA_BRANCH1 } }
---
# tenants/beta.yaml (on the same gateway)
connections:
  - interface: branch1          # usernames ignore case
    auth: { eap: { method: mschapv2, secret: env:BETA_BRANCH1 } }`,
    good: `# tenants/alpha.yaml
connections:
  - interface: AlphaBr1
    auth: { eap: { method: mschapv2, secret: env:ALPHA_BR1 } }
---
# tenants/beta.yaml
connections:
  - interface: BetaBr1
    auth: { eap: { method: mschapv2, secret: env:BETA_BR1 } }`,
  },
  {
    code: 'psk-destination-ip',
    phase: 'rules',
    severity: 'error',
    summary: 'a PSK connection whose destination is a DNS name',
    explanation: `A PSK connection whose \`destination\` is a DNS name. A PSK peer is identified only by its address,
so its key is looked up by the address.
Fix: write the site's IP address, or use certificate or EAP authentication.`,
    bad: `destination: ny.alpha.example
auth: { psk: env:ALPHA_PSK }`,
    good: `destination: 131.107.0.20
auth: { psk: env:ALPHA_PSK }`,
  },
  {
    code: 'psk-destination-conflict',
    phase: 'rules',
    severity: 'error',
    summary: 'two PSK connections on one gateway with the same source and destination address',
    explanation: `Two PSK connections on one gateway with the same (source, destination) address pair, in one tenant
or across tenants. An incoming IKE packet from that address could belong to either, and a PSK peer
is told apart only by its address. The source is the connection's \`source\`, or the gateway's first
external address of the destination's family.
Fix: give one connection another \`source\` (a second external address), or authenticate it with
a certificate or EAP.`,
    bad: `# tenants/contoso.yaml: destination: 131.107.0.10
# tenants/woodgrove.yaml: destination: 131.107.0.10     # same pair, from 203.0.113.10`,
    good: `# tenants/contoso.yaml: destination: 131.107.0.10
# tenants/woodgrove.yaml: destination: 131.107.0.10, source: 203.0.113.11   # another gateway address`,
  },
  {
    code: 'source-address',
    phase: 'rules',
    severity: 'error',
    summary: 'a connection\'s source is not one of the gateway\'s external addresses, or not of the destination\'s family',
    explanation: `A connection's \`source\` is not one of its gateway's \`external.addresses\`, or is of another family
than its \`destination\`; or, without \`source\`, the gateway has no external address of the
destination's family.
Fix: use one of the gateway's addresses, or leave \`source\` out.`,
    bad: `source: 203.0.113.99        # gateway gw1's external addresses: 203.0.113.10`,
    good: `source: 203.0.113.10        # one of gateway gw1's external addresses`,
  },
  {
    code: 'duplicate-route',
    phase: 'rules',
    severity: 'error',
    summary: 'one tenant routes the same prefix at the same metric twice',
    explanation: `One tenant routes the same prefix at the same metric twice (on two connections, or as a route and
a post-connect route); which path wins would be left to chance.
Fix: give the backup path a higher metric (lower wins), or remove one.`,
    bad: `- interface: IfAe1
  routes: [ { to: 10.1.0.0/16, metric: 100 } ]
- interface: IfAe2
  routes: [ { to: 10.1.0.0/16, metric: 100 } ]`,
    good: `- interface: IfAe1
  routes: [ { to: 10.1.0.0/16, metric: 100 } ]
- interface: IfAe2
  routes: [ { to: 10.1.0.0/16, metric: 200 } ]   # the backup path`,
  },
  {
    code: 'route-overlaps-network',
    phase: 'rules',
    severity: 'error',
    summary: 'a tenant\'s remote route overlaps the tenant\'s own network addresses',
    explanation: `A route or post-connect route over a connection overlaps the tenant's own \`network.addresses\`:
traffic to the tenant's own network would go into the tunnel.
Fix: route only the remote site's prefixes.`,
    bad: `network: { addresses: [192.168.0.1/29] }
routes: [ { to: 192.168.0.0/16 } ]`,
    good: `network: { addresses: [192.168.0.1/29] }
routes: [ { to: 10.1.0.0/16 } ]`,
  },
  {
    code: 'mixed-family',
    phase: 'rules',
    severity: 'error',
    summary: 'a filter rule mixes IPv4 and IPv6 (addresses, or icmp/icmpv6 with the other family)',
    explanation: `A filter rule mixes families: an IPv4 \`source\` with an IPv6 \`destination\` (or the reverse), or
\`protocol: icmp\` with IPv6 addresses / \`icmpv6\` with IPv4. Such a rule never matches a packet.
Fix: write one rule per family; ICMP for IPv6 is \`icmpv6\`.`,
    bad: `permit:
  - { source: 192.168.0.0/29, destination: "fd00:1::/64" }
  - { protocol: icmpv6, destination: 10.1.0.0/16 }`,
    good: `permit:
  - { source: 192.168.0.0/29, destination: 10.1.0.0/16 }
  - { protocol: icmp, destination: 10.1.0.0/16 }`,
  },
  {
    code: 'bgp-neighbor-unreachable',
    phase: 'rules',
    severity: 'error',
    summary: 'a BGP neighbor that no route, network or `via` reaches',
    explanation: `A BGP neighbor without \`via\` whose address no route, post-connect route or network prefix of the
tenant covers: BGP could never reach it, and would never dial an on-demand tunnel.
Fix: add \`via: IfCe1\` (the connection the neighbor is behind; it adds a host route), or a route
covering the address.`,
    bad: `neighbors:
  - { address: 10.9.0.1, remoteAsn: 65001 }     # no route to 10.9.0.0/...`,
    good: `routes: [ { to: 10.9.0.0/30 } ]
bgp:
  neighbors:
    - { address: 10.9.0.1, remoteAsn: 65001 }`,
  },
  {
    code: 'unknown-interface',
    phase: 'rules',
    severity: 'error',
    summary: 'a filter or BGP `via` names an interface the tenant does not have',
    explanation: `A filter names an interface the tenant does not have (its \`network.interface\` and connection
interfaces), or a BGP neighbor's \`via\` is not one of the tenant's connections.
Fix: use the tenant's own interface names (the hint lists them).`,
    bad: `filters:
  - interface: IfBi1      # another tenant's interface`,
    good: `filters:
  - interface: IfAi1      # this tenant's network interface`,
  },
  {
    code: 'port-without-protocol',
    phase: 'rules',
    severity: 'error',
    summary: 'a filter rule with ports but without protocol tcp, udp or sctp',
    explanation: `A filter rule with \`sourcePort\` or \`destinationPort\` but without \`protocol: tcp\`, \`udp\` or \`sctp\`.
Fix: add the protocol, or remove the port.`,
    bad: `permit:
  - { destinationPort: 443 }`,
    good: `permit:
  - { protocol: tcp, destinationPort: 443 }`,
  },
  {
    code: 'icmp-without-protocol',
    phase: 'rules',
    severity: 'error',
    summary: 'icmpType/icmpCode without protocol icmp or icmpv6, or icmpCode without icmpType',
    explanation: `A filter rule with \`icmpType\` or \`icmpCode\` but without \`protocol: icmp\` or \`icmpv6\`, or an
\`icmpCode\` without an \`icmpType\`.
Fix: add the protocol (and the type the code belongs to).`,
    bad: `permit:
  - { icmpType: 8 }
  - { protocol: icmp, icmpCode: 0 }`,
    good: `permit:
  - { protocol: icmp, icmpType: 8 }
  - { protocol: icmp, icmpType: 8, icmpCode: 0 }`,
  },
  {
    code: 'vlan-or-vsid',
    phase: 'rules',
    severity: 'error',
    summary: 'a tenant network with both or neither of `vlan` and `vsid`, or `vteps` without `vsid`',
    explanation: `A tenant network with both \`vlan\` and \`vsid\`, with neither, or with \`vteps\` but no \`vsid\`.
Fix: \`vlan\` for a VLAN on the trunk; \`vsid\` (with \`vteps\`) for a VXLAN segment.`,
    bad: `network: { interface: IfAi1, vlan: 101, vsid: 5001, addresses: [192.168.0.1/29] }`,
    good: `network: { interface: IfAi1, vlan: 101, addresses: [192.168.0.1/29] }`,
  },
  {
    code: 'permit-or-deny',
    phase: 'rules',
    severity: 'error',
    summary: 'a filter with both or neither of `permit` and `deny`',
    explanation: `A filter with both \`permit\` and \`deny\`, or with neither. \`permit\` lets only its rules pass (the
rest in that direction is dropped); \`deny\` drops its rules (the rest passes).
Fix: keep one list.`,
    bad: `filters:
  - interface: IfAi1
    direction: inbound
    permit: [ { protocol: tcp, destinationPort: 443 } ]
    deny: [ { protocol: udp } ]`,
    good: `filters:
  - interface: IfAi1
    direction: inbound
    permit: [ { protocol: tcp, destinationPort: 443 } ]`,
  },
  {
    code: 'duplicate-filter',
    phase: 'rules',
    severity: 'error',
    summary: 'two filters of a tenant on the same interface and direction',
    explanation: `Two filters of one tenant on the same interface and direction.
Fix: merge their rules into one filter.`,
    bad: `filters:
  - { interface: IfAi1, direction: inbound, permit: [ { protocol: tcp } ] }
  - { interface: IfAi1, direction: inbound, permit: [ { protocol: icmp } ] }`,
    good: `filters:
  - { interface: IfAi1, direction: inbound, permit: [ { protocol: tcp }, { protocol: icmp } ] }`,
  },
  {
    code: 'vsid-without-underlay',
    phase: 'rules',
    severity: 'error',
    summary: 'a VSID tenant on a gateway without `trunk.underlayAddress`',
    explanation: `A tenant with a \`vsid\` on a gateway without \`trunk.underlayAddress\`, the VXLAN source address.
Fix: add \`underlayAddress\` to the gateway's \`trunk\`, or attach the tenant with a \`vlan\`.`,
    bad: `# gateways/gw1.yaml: no trunk.underlayAddress
# tenants/alpha.yaml
network: { interface: IfAi1, vsid: 5001, addresses: [192.168.0.1/29] }`,
    good: `# gateways/gw1.yaml
trunk: { interface: ens4, underlayAddress: 10.0.0.5 }
# tenants/alpha.yaml
network: { interface: IfAi1, vsid: 5001, addresses: [192.168.0.1/29] }`,
  },
  {
    code: 'vtep-family',
    phase: 'rules',
    severity: 'error',
    summary: 'a VTEP of another address family than the gateway\'s underlay address',
    explanation: `A VTEP whose address family differs from the gateway's \`trunk.underlayAddress\`: a VXLAN device's
local and remote ends are of one family, and netplan and \`ip\` both refuse the mix.
Fix: list each VTEP by its address of the underlay's family.`,
    bad: `vsid: 6000
vteps: [10.0.0.21, "fd00::22"]    # underlayAddress is 10.0.0.5`,
    good: `vsid: 6000
vteps: [10.0.0.21, 10.0.0.22]       # underlayAddress is 10.0.0.5`,
  },
  {
    code: 'route-and-post-connect',
    phase: 'rules',
    severity: 'error',
    summary: 'the same prefix as a static route and a post-connect route in one tenant',
    explanation: `The same prefix as a static route on one connection and a post-connect route on another (or the
same) connection of a tenant. FRR installs static routes at its own kernel metric and the updown
hook installs post-connect routes at theirs, so the YAML metrics would not decide between them.
Fix: make the prefix a static route everywhere, or a post-connect route everywhere.`,
    bad: `- interface: IfAe1
  routes: [ { to: 10.1.0.0/16 } ]
- interface: IfAe2
  postConnectRoutes: [ { to: 10.1.0.0/16 } ]`,
    good: `- interface: IfAe1
  routes: [ { to: 10.1.0.0/16, metric: 100 } ]
- interface: IfAe2
  routes: [ { to: 10.1.0.0/16, metric: 200 } ]`,
  },
  {
    code: 'bgp-router-id-missing',
    phase: 'rules',
    severity: 'error',
    summary: 'a tenant with BGP but neither bgp.routerId nor an IPv4 network address to default it to',
    explanation: `\`bgp.routerId\` is optional: it defaults to the tenant's first IPv4 network address. A tenant whose
network has only IPv6 addresses has nothing to default it to, and BGP needs a 32-bit router id.
Fix: write \`bgp.routerId\` (an IPv4 address unique among the tenant's BGP speakers), or give the
network an IPv4 address.`,
    bad: `network: { addresses: ["fd00:1::1/64"] }
bgp:
  asn: 65010
  neighbors: [ { address: "fd00:9::1", remoteAsn: 65001 } ]`,
    good: `network: { addresses: ["fd00:1::1/64"] }
bgp:
  asn: 65010
  routerId: 10.255.0.1
  neighbors: [ { address: "fd00:9::1", remoteAsn: 65001 } ]`,
  },
  {
    code: 'crypto-profile-forbidden',
    phase: 'rules',
    severity: 'error',
    summary: "a proposal keyword the gateway's or tenant's crypto profile forbids (the reason and its source in the message)",
    explanation: `The tenant (or its gateway) names a crypto profile (\`cryptoProfile\`: default, cnsa, nist-128, bsi;
see docs/crypto.md), and a connection's IKE or ESP proposal uses an algorithm that profile forbids.
The message names the keyword, the reason and the document that says so (an RFC section or the
profile's own document). A tenant's profile overrides its gateway's.
Fix: use a proposal the profile accepts (docs/crypto.md lists them), or name another profile.`,
    bad: `cryptoProfile: cnsa
connections:
  - { interface: IfCe1, destination: 203.0.113.10, auth: { psk: "env:SITE1_PSK" }, ike: { proposals: [aes128-sha256-modp2048] } }`,
    good: `cryptoProfile: cnsa
connections:
  - { interface: IfCe1, destination: 203.0.113.10, auth: { psk: "env:SITE1_PSK" }, ike: { proposals: [aes256gcm16-prfsha384-ecp384] } }`,
  },
  {
    code: 'crypto-profile-discouraged',
    phase: 'rules',
    severity: 'warning',
    summary: "a proposal keyword the gateway's or tenant's crypto profile discourages (the reason and its source in the message)",
    explanation: `A warning: a connection's proposal uses an algorithm the named crypto profile still allows but
advises against (for example a SHOULD NOT in RFC 8221 or RFC 8247 under the \`default\` profile).
The message gives the reason and its source.
Fix: move to the profile's recommended algorithms before the profile forbids them.`,
    bad: `cryptoProfile: default
connections:
  - { interface: IfCe1, destination: 203.0.113.10, auth: { psk: "env:SITE1_PSK" }, ike: { proposals: [aes128-sha1-modp2048] } }`,
    good: `cryptoProfile: default
connections:
  - { interface: IfCe1, destination: 203.0.113.10, auth: { psk: "env:SITE1_PSK" }, ike: { proposals: [aes256gcm16-prfsha256-ecp256] } }`,
  },
  {
    code: 'crypto-deprecated',
    phase: 'rules',
    severity: 'warning',
    summary: 'without a crypto profile, a proposal keyword RFC 8221 (ESP) or RFC 8247 (IKEv2) marks MUST NOT or SHOULD NOT',
    explanation: `A warning for tenants and gateways that name no crypto profile: a proposal uses an algorithm that
RFC 8221 (ESP) or RFC 8247 (IKEv2) marks MUST NOT or SHOULD NOT (DES, 3DES, MD5, MODP-768/1024, ...).
strongSwan still loads it; the peer may insist on it. Name a profile (\`cryptoProfile\`) to make
such proposals errors.
Fix: use AES-GCM or AES-CBC with SHA-2 and a group of at least 2048 bits (MODP) or an ECP/Curve25519 group.`,
    bad: `connections:
  - { interface: IfCe1, destination: 203.0.113.10, auth: { psk: "env:SITE1_PSK" }, esp: { proposals: [3des-md5-modp1024] } }`,
    good: `connections:
  - { interface: IfCe1, destination: 203.0.113.10, auth: { psk: "env:SITE1_PSK" }, esp: { proposals: [aes256gcm16-ecp256] } }`,
  },
  {
    code: 'bgp-neighbor-family',
    phase: 'rules',
    severity: 'error',
    summary: 'a BGP neighbor of an address family the tenant\'s network has no address of',
    explanation: `A BGP neighbor of an address family the tenant's \`network.addresses\` has no address of: the
gateway speaks BGP from the tenant network's address, so the session has nowhere to start from.
Fix: add an address of that family to the tenant network, or peer over the other family.`,
    bad: `network: { addresses: [192.168.0.1/29] }
bgp:
  neighbors: [ { address: "fd00:9::1", remoteAsn: 65001 } ]`,
    good: `network: { addresses: [192.168.0.1/29, "fd00:1::1/64"] }
bgp:
  neighbors: [ { address: "fd00:9::1", remoteAsn: 65001 } ]`,
  },
  {
    code: 'bgp-advertise-unrouted',
    phase: 'rules',
    severity: 'warning',
    summary: 'an advertised prefix that no network address or route of the tenant covers (FRR would not announce it)',
    explanation: `A warning: an advertised prefix that neither the tenant network nor any route of the tenant covers. FRR
announces a \`network\` only when the VRF has a route for it (\`bgp network import-check\`), so it
would silently not be announced.
Fix: advertise the tenant network or a routed prefix.`,
    bad: `network: { addresses: [192.168.0.1/29] }
bgp:
  advertise: [172.16.0.0/16]`,
    good: `network: { addresses: [192.168.0.1/29] }
bgp:
  advertise: [192.168.0.0/29]`,
  },
  {
    code: 'ha-pair',
    phase: 'rules',
    severity: 'error',
    summary: 'a tenant with network.ha not on exactly two gateways, or without one own address per gateway',
    explanation: `A tenant with \`network.ha\` that is not on exactly two gateways (a single gateway, or three
and more), or whose \`network.ha.addresses\` lacks an own address for one of its gateways or names a
gateway that is not one of them. VRRP here is a pair: the first gateway is active, the second standby.
Fix: \`gateways: [gw1, gw2]\` and one address per gateway.`,
    bad: `gateways: [gw1]
network:
  interface: IfAi1
  vlan: 10
  addresses: [192.168.0.1/29]
  ha: { vrid: 10, addresses: { gw1: 192.168.0.2/29, gw2: 192.168.0.3/29 } }`,
    good: `gateways: [gw1, gw2]
network:
  interface: IfAi1
  vlan: 10
  addresses: [192.168.0.1/29]
  ha: { vrid: 10, addresses: { gw1: 192.168.0.2/29, gw2: 192.168.0.3/29 } }`,
  },
  {
    code: 'ha-address',
    phase: 'rules',
    severity: 'error',
    summary: "a gateway's own HA address outside the tenant subnet, or equal to the virtual address or to the partner's",
    explanation: `A gateway's own HA address is outside the tenant subnet (another network or prefix length than
the virtual address of its family), is the virtual address itself, equals the partner's own address, or
has no network address of its family to share. VRRP adverts and BGP leave from the own address.
Fix: two distinct free addresses of the tenant subnet, with its prefix length.`,
    bad: `network:
  addresses: [192.168.0.1/29]
  ha: { vrid: 10, addresses: { gw1: 192.168.0.1/29, gw2: 10.0.0.3/29 } }`,
    good: `network:
  addresses: [192.168.0.1/29]
  ha: { vrid: 10, addresses: { gw1: 192.168.0.2/29, gw2: 192.168.0.3/29 } }`,
  },
  {
    code: 'ha-vrid',
    phase: 'rules',
    severity: 'error',
    summary: 'two HA tenants with the same VRRP VRID on the same VLAN or VXLAN segment',
    explanation: `Two HA tenants use the same VRRP \`vrid\` on the same segment (VLAN id or VXLAN VSID). One VRID
on one segment is one virtual router: the pairs would take over each other's address.
Fix: give each pair on the segment its own vrid.`,
    bad: `# tenants/alpha.yaml
network: { interface: IfAi1, vlan: 10, addresses: [192.168.0.1/29], ha: { vrid: 10, addresses: { gw1: 192.168.0.2/29, gw2: 192.168.0.3/29 } } }
---
# tenants/beta.yaml
network: { interface: IfBi1, vlan: 10, addresses: [192.168.1.1/29], ha: { vrid: 10, addresses: { gw1: 192.168.1.2/29, gw2: 192.168.1.3/29 } } }`,
    good: `# tenants/alpha.yaml
network: { interface: IfAi1, vlan: 10, addresses: [192.168.0.1/29], ha: { vrid: 10, addresses: { gw1: 192.168.0.2/29, gw2: 192.168.0.3/29 } } }
---
# tenants/beta.yaml
network: { interface: IfBi1, vlan: 10, addresses: [192.168.1.1/29], ha: { vrid: 11, addresses: { gw1: 192.168.1.2/29, gw2: 192.168.1.3/29 } } }`,
  },
  {
    code: 'ha-external-address',
    phase: 'rules',
    severity: 'error',
    summary: 'an HA pair whose two gateways share an external address',
    explanation: `The two gateways of a tenant's HA pair share an external address. Each gateway keeps its own
tunnels (IKE SAs) to every site, so each needs its own address.
Fix: give each gateway of the pair its own external addresses.`,
    bad: `# gateways/gw1.yaml
external: { interface: eth0, addresses: [198.51.100.1] }
---
# gateways/gw2.yaml
external: { interface: eth0, addresses: [198.51.100.1] }`,
    good: `# gateways/gw1.yaml
external: { interface: eth0, addresses: [198.51.100.1] }
---
# gateways/gw2.yaml
external: { interface: eth0, addresses: [198.51.100.2] }`,
  },
  {
    code: 'bgp-on-several-gateways',
    phase: 'rules',
    severity: 'warning',
    summary: 'a tenant with BGP on more than one gateway (same address and router id on each)',
    explanation: `A warning: a tenant with BGP that is on more than one gateway: each gateway speaks from the same tenant
network address with the same router id, and a site cannot have two neighbors at one address.
Not reported for a declared HA pair (\`network.ha\` on exactly two gateways): each gateway then speaks
from its own address (docs/ha.md).
Fix: keep BGP on one gateway, declare the pair with \`network.ha\`, or split the tenant.`,
    bad: `gateways: [gw1, gw2]
bgp: { routerId: 192.168.0.1, ... }`,
    good: `gateways: [gw1]
bgp: { routerId: 192.168.0.1, ... }`,
  },
  {
    code: 'certificate-without-identity',
    phase: 'rules',
    severity: 'error',
    summary: 'a certificate or EAP connection on a gateway without `identity`',
    explanation: `A certificate or EAP connection on a gateway without \`identity\` (its own certificate, key and
trust anchors): certificate peers and EAP clients alike authenticate the gateway by its certificate.
Fix: add \`identity\` to the gateway file, or use PSK.`,
    bad: `# gateways/gw1.yaml: no identity
# tenants/alpha.yaml
auth: { certificate: { subject: "CN=ny.alpha.example, O=Alpha" } }`,
    good: `# gateways/gw1.yaml
identity: { certificate: /etc/s2sgw/pki/gw1.crt, privateKey: /etc/s2sgw/pki/gw1.key }
# tenants/alpha.yaml
auth: { certificate: { subject: "CN=ny.alpha.example, O=Alpha" } }`,
  },
  {
    code: 'policy-selectors-empty',
    phase: 'rules',
    severity: 'error',
    summary: 'a policy-based connection with a site prefix that no tenant network of its family can pair with, or with no site prefix at all',
    explanation: `A \`trafficSelectors: policy-based\` connection without a selector pair to propose: it has no
\`routes\`, \`postConnectRoutes\` or BGP neighbor, or one of its prefixes is of a family the tenant's
\`network.addresses\` has no address of. A policy-based connection proposes one CHILD_SA per pair of
a tenant network and a site prefix of the same family.
Fix: give the connection its site prefixes, add an address of that family to the tenant network,
or leave the connection route-based.`,
    bad: `trafficSelectors: policy-based
routes: [ { to: "fd00:2::/48" } ]   # the tenant network is IPv4 only`,
    good: `trafficSelectors: policy-based
routes: [ { to: 10.1.0.0/16 } ]`,
  },
  {
    code: 'remote-id-eap',
    phase: 'rules',
    severity: 'error',
    summary: 'a remoteId on an EAP connection',
    explanation: `A \`remoteId\` on an EAP connection. An EAP site's IKE identity is its EAP username, the interface
name; \`remoteId\` (the identity of a PSK or certificate site that is not its address, such as the
private address of a site behind NAT) does not apply.
Fix: remove \`remoteId\`.`,
    bad: `- interface: Branch1
  remoteId: branch1@alpha.example
  auth: { eap: { ... } }`,
    good: `- interface: Branch1            # the EAP username is the interface name
  auth: { eap: { ... } }`,
  },
  {
    code: 'inline-secret',
    phase: 'rules',
    severity: 'error',
    summary: 'a PSK or EAP secret that is not an env:NAME or file:/path reference',
    explanation: `A \`psk\` or EAP \`secret\` that is not a reference: anything but \`env:NAME\` (letters, digits, \`_\`) or
\`file:/absolute/path\`. The value is never printed; the code frame stars it out.
Fix: store the secret on the gateway host and write \`psk: env:ALPHA_PSK\` or
\`psk: file:/etc/s2sgw/secrets/alpha-ifae1\`. If the value was ever committed, it is in Git history:
change it on both ends.
A tenant file that fails the schema is searched wider, since a secret may have landed anywhere by
mistake: any text under a connection's \`auth\` but the certificate subject and the EAP method (a
mistyped \`pks:\`, \`auth: <the key>\`), and text under a secret-like key anywhere (\`psk\`, \`secret\`,
\`password\`, \`passphrase\`, \`key\` and their typos), after YAML aliases are expanded (\`psk: *a\`). Each
such value is starred out wherever it appears in the file, in every code frame, and in every message
of every format (text, json, github), including the line of its anchor (\`&a\`).`,
    bad: `auth:
  psk: Sup3rS3cret!          # the key itself`,
    good: `auth:
  psk: env:ALPHA_NY_PSK        # or file:/etc/s2sgw/secrets/alpha/ny.psk`,
  },
  {
    code: 'lock/invalid',
    phase: 'lock',
    severity: 'error',
    summary: 'allocations.lock.yaml is not an s2sgw lock file',
    explanation: `The lock file is not an s2sgw lock file: YAML errors, not a mapping, \`version\` other than 1, a
missing or unknown key, an id that is not a whole number, a key under \`tenants\` that is not a tenant
name or under \`ifIds\` not a connection name.
Fix: restore the lock from Git, or run \`s2sgw build\`; the file is written by s2sgw, not by hand.`,
    bad: `version: 2
tenants:
  alpha: { table: ten }`,
    good: `version: 1
next: { table: 1002, zone: 2, ifId: 2 }
tenants:
  alpha: { table: 1001, zone: 1, ifIds: { IfAe1: 1 } }`,
  },
  {
    code: 'lock/out-of-range',
    phase: 'lock',
    severity: 'error',
    summary: 'an id in the lock outside the range s2sgw allocates, or not below its `next`',
    explanation: `An id outside the range s2sgw allocates (routing tables 1001 to 4294967295, conntrack zones 1 to
65535, XFRM if_ids 1 to 4294967295), a \`next\` outside it, or an id not below its \`next\` (the next
new tenant or connection would be given the same id).
Fix: restore the lock from Git.`,
    bad: `next: { table: 1003, zone: 3, ifId: 5 }
tenants:
  alpha: { table: 1005, zone: 1, ifIds: { IfAe1: 1 } }`,
    good: `next: { table: 1003, zone: 3, ifId: 5 }
tenants:
  alpha: { table: 1001, zone: 1, ifIds: { IfAe1: 1 } }`,
  },
  {
    code: 'lock/reserved-id',
    phase: 'lock',
    severity: 'error',
    summary: 'a tenant\'s routing table in the lock is one the kernel reserves',
    explanation: `A tenant's routing table is one the kernel reserves: 0 (unspecified), 253 (default), 254 (main) or
255 (local). A VRF on the main table would route the tenant's traffic in the host's own table.
Fix: restore the lock from Git.`,
    bad: `tenants:
  alpha: { table: 254, zone: 1, ifIds: { IfAe1: 1 } }`,
    good: `tenants:
  alpha: { table: 1001, zone: 1, ifIds: { IfAe1: 1 } }`,
  },
  {
    code: 'lock/duplicate-id',
    phase: 'lock',
    severity: 'error',
    summary: 'two tenants or connections with one id in the lock',
    explanation: `Two tenants with one routing table or conntrack zone, or two connections with one XFRM if_id: their
routes, connection tracking or tunnels would be shared. Reported at the later entry, with the first
under \`related\`.
Fix: restore the lock from Git.`,
    bad: `tenants:
  alpha: { table: 1001, zone: 1, ifIds: { IfAe1: 1 } }
  beta: { table: 1001, zone: 2, ifIds: { IfBe1: 2 } }`,
    good: `tenants:
  alpha: { table: 1001, zone: 1, ifIds: { IfAe1: 1 } }
  beta: { table: 1002, zone: 2, ifIds: { IfBe1: 2 } }`,
  },
  {
    code: 'lock/unknown-tenant',
    phase: 'lock',
    severity: 'warning',
    summary: 'the lock holds ids for a tenant that has no tenant file',
    explanation: `A warning: the lock holds ids for a tenant that has no tenant file (removed without a rebuild).
\`s2sgw build\` retires its ids (they are never reused); \`build --locked\` refuses until the rebuilt
lock is committed (\`lock/would-change\`). An entry whose ids are out of range, reserved or shared is
an error whatever its owner.
Fix: run \`s2sgw build\` and commit the lock.`,
    bad: `$ git rm tenants/beta.yaml && git commit -m 'remove beta'    # lock still lists beta`,
    good: `$ git rm tenants/beta.yaml && s2sgw build
$ git add allocations.lock.yaml && git commit -m 'remove beta'`,
    lang: 'sh',
  },
  {
    code: 'lock/unknown-connection',
    phase: 'lock',
    severity: 'warning',
    summary: 'the lock holds an if_id for a connection its tenant no longer has',
    explanation: `A warning, as \`lock/unknown-tenant\`, for an if_id of a connection its tenant no longer has.
Fix: run \`s2sgw build\` and commit the lock.`,
    bad: `$ git commit -am 'alpha: drop connection IfAe2'    # lock still lists IfAe2`,
    good: `$ s2sgw build && git commit -am 'alpha: drop connection IfAe2'`,
    lang: 'sh',
  },
  {
    code: 'lock/would-change',
    phase: 'lock',
    severity: 'error',
    summary: 'build --locked: the committed lock does not match the tenants',
    explanation: `\`build --locked\`: the build would add or retire ids; the committed lock does not match the tenants.
Fix: run \`s2sgw build\` and commit the lock with the tenant change.`,
    bad: `$ git add tenants/gamma.yaml && git commit -m 'add gamma'
$ s2sgw build --locked        # in CI`,
    good: `$ s2sgw build                 # allocates gamma's ids
$ git add tenants/gamma.yaml allocations.lock.yaml && git commit -m 'add gamma'`,
    lang: 'sh',
  },
  {
    code: 'lock/exhausted',
    phase: 'lock',
    severity: 'error',
    summary: 'no conntrack zone is left to allocate (zones are 16-bit)',
    explanation: `No conntrack zone is left (zones are 16-bit).
Fix: retired zones are never reused; this needs a new lock on a fresh fleet.`,
    bad: `next: { table: 66537, zone: 65536, ifId: 70000 }`,
    good: `# a fresh lock for a new fleet (ids are never reused)
next: { table: 1001, zone: 1, ifId: 1 }`,
  },
  {
    code: 'secret-scope',
    phase: 'rules',
    severity: 'error',
    summary: 'a secret reference outside its tenant\'s scope (another tenant\'s variable or file, a path outside the secrets folder, the gateway\'s key)',
    explanation: `A secret reference outside its tenant's scope, or a gateway whose secrets folder is not one
(the scopes are in [security.md](security.md#secret-scopes)). A tenant may name only
- \`env:NAME\` where NAME starts with its own prefix, the tenant name upper-cased with \`-\` as \`_\`, then
  \`_\` (\`CONTOSO_\` for contoso), and no other tenant on the gateway has a longer prefix of NAME
  (tenant \`a\` cannot name \`A_B_KEY\` while tenant \`a-b\` is on the gateway);
- \`file:S/<tenant>\`, \`file:S/<tenant>/...\` or \`file:S/<tenant>-NAME\`, where S is the gateway's
  \`secretsDir\` (default \`/etc/s2sgw/secrets\`): an absolute path without \`.\`, \`..\` or empty segments
  or control characters, and not the gateway's own key or certificate.
On the gateway file: a \`secretsDir\` that is not a plain absolute path, and an \`identity.privateKey\`
or \`identity.certificate\` inside \`secretsDir\`, where a tenant's reference could reach it.
Fix: rename the variable or move the file into the tenant's part of the secrets folder. \`s2sgw
apply\` checks every reference again on the host, where the files and links are what count.`,
    bad: `# in tenants/contoso.yaml: woodgrove's variable
auth: { psk: env:WOODGROVE_PSK }
---
# leaves the secrets folder
auth: { psk: file:/etc/s2sgw/secrets/../pki/gw1.key }`,
    good: `# in tenants/contoso.yaml
auth: { psk: env:CONTOSO_NY_PSK }
---
auth: { psk: file:/etc/s2sgw/secrets/contoso/ny.psk }`,
  },
  {
    code: 'schema/<keyword>',
    phase: 'schema',
    severity: 'error',
    summary: 'a schema rule without a code of its own (the JSON Schema keyword names it)',
    explanation: `A value breaks a rule of the schema that none of the codes above explains; the code is \`schema/\` and
the JSON Schema keyword (for example \`schema/const\`), and the message is the validator's own. The
schemas in \`schema/\` use only keywords with their own codes today, so this shows only after a schema
change: report it, so that it gets a code and a sentence of its own.
Fix: compare the value with the key's description in \`schema/tenant.schema.json\` or \`schema/gateway.schema.json\`.`,
    bad: `# a key whose schema gained a keyword with no code of its own`,
    good: `# the value as the key's description in schema/tenant.schema.json says`,
  },
  {
    code: '<target>/check',
    codes: TARGETS.map((t) => `${t}/check`),
    phase: 'check',
    severity: 'error',
    summary: 'the program that reads a generated file rejected it (build --check)',
    explanation: `\`s2sgw build --check\` (and CI) hands every generated file to the program that will read it on the
gateway: \`nft -c\` for nftables, \`vtysh\`/FRR for frr.conf, charon and swanctl for strongSwan,
\`netplan generate\`, \`ip -batch\` and \`bridge -batch\` for links, \`sysctl -p\` for sysctl and
\`tc -batch\` for tc, each in a throwaway network namespace or scratch root. A line the program
refuses is reported at the tenant's YAML line that made it (through the section the line belongs
to), with the generated line under \`related\`; a refusal s2sgw cannot map is reported at the
gateway file. \`<target>\` is one of ${TARGETS.join(', ')}.
Such a finding means s2sgw generated something the real tool does not accept: a value the schema
and the rules let through but the tool does not (report it, so a rule catches it next time), or a
tool version on this machine older than the gateway's.
Fix: read the tool's message; change the tenant value it points at, or run the check with the
gateway's tool versions (the Debian packages of \`bash scripts/setup.sh\`).`,
    bad: `$ s2sgw build --check
tenants/contoso.yaml:16:7: error tc/check: tc rejected tc/s2sgw.tc line 3: ...`,
    good: `$ s2sgw build --check
built out/gw1/: 14 files, 2 tenants, checked with the real tools`,
    lang: 'text',
  },
  {
    code: 'frr/load',
    phase: 'check',
    severity: 'error',
    summary: 'FRR refused frr.conf when loading it, or its running configuration still differs after loading',
    explanation: `After \`vtysh\` accepts frr.conf's syntax (\`frr/check\`), \`build --check\` loads it into real FRR
daemons (zebra, bgpd, staticd) in a throwaway namespace, as \`frr-reload\` does on the gateway, and
compares the running configuration with the file. A line the daemons refuse, or a difference left
after the load (frr-reload would add or delete a line again on every apply), is reported at the
tenant line the section came from.
Fix: read FRR's message; usually a BGP or route value that FRR takes apart differently from what
was written (report it: the template must write FRR's own form).`,
    bad: `$ s2sgw build --check
tenants/contoso.yaml:21:5: error frr/load: after loading frr.conf, FRR's running configuration still differs from it: ...`,
    good: `$ s2sgw build --check
built out/gw1/: 14 files, 2 tenants, checked with the real tools`,
    lang: 'text',
  },
  {
    code: '<target>/tool-missing',
    codes: TARGETS.map((t) => `${t}/tool-missing`),
    phase: 'check',
    severity: 'error',
    summary: 'build --check cannot run the program that reads a generated file: it is not installed',
    explanation: `\`build --check\` runs the real programs (nft, vtysh and FRR's daemons, charon-systemd, swanctl and
pki, netplan, ip and bridge, sysctl, tc). One that is not installed is one finding, at the gateway
file or the generated file it would have read; the files it would read are not checked, and the build fails rather than passing unchecked.
\`<target>\` is one of ${TARGETS.join(', ')}.
Fix: install the Debian packages the hint names (\`bash scripts/setup.sh\` installs them all), or
build without \`--check\`.`,
    bad: `$ s2sgw build --check      # on a machine without nftables
out/gw1/nftables/s2sgw.nft:1:1: error nftables/tool-missing: nft is not installed, so the nftables ruleset was not checked`,
    good: `$ sudo apt-get install nftables
$ s2sgw build --check`,
    lang: 'sh',
  },
  {
    code: '<target>/kernel-unsupported',
    codes: ['links', 'sysctl', 'tc'].map((t) => `${t}/kernel-unsupported`),
    phase: 'check',
    severity: 'error or warning',
    summary: 'build --check could not run some generated lines: this machine\'s kernel lacks a module',
    explanation: `The program accepted the lines' syntax, but this machine's kernel cannot run them: it has no VRF,
VXLAN or XFRM interface module (links), no sysctl key that exists only with a module loaded
(sysctl), or no \`cls_u32\`/\`act_police\` (tc); container runners often lack them. One finding per
file, naming the lines and tenants not checked; the lines that could run did run. A warning, so a
build on a laptop or a container still passes; an error in CI when \`S2SGW_REQUIRE_KERNEL_LINKS=1\`
says the runner must have the modules (links and sysctl). The lab VM (\`npm run lab\`) runs every
line on Debian's kernel. \`<target>\` is one of links, sysctl, tc.
Fix: run the check on a kernel with the modules (the gateway host, the lab VM), or load them
(\`modprobe vrf vxlan xfrm_interface cls_u32 act_police\`).`,
    bad: `$ s2sgw build --check      # in a container without the vrf module
gateways/gw1.yaml:1:1: warning links/kernel-unsupported: 12 of 40 lines of links.ipbatch were not checked: ...`,
    good: `$ sudo modprobe vrf vxlan xfrm_interface
$ s2sgw build --check`,
    lang: 'sh',
  },
];

const BY_CODE = new Map<string, CatalogueEntry>();
for (const e of CATALOGUE) for (const c of e.codes ?? [e.code]) BY_CODE.set(c, e);

/** The entry that explains a code as printed (`frr/check` finds `<target>/check`), or the family's own name. */
export function lookup(code: string): CatalogueEntry | undefined {
  const exact = BY_CODE.get(code) ?? CATALOGUE.find((e) => e.code === code);
  if (exact) return exact;
  // A computed code such as schema/<keyword>: the placeholder matches one word.
  return CATALOGUE.find((e) => e.code.includes('<') && !e.codes && new RegExp(`^${e.code.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<[^>]*>/g, '[a-zA-Z]+')}$`).test(code));
}

/** Every code a user may ask for: plain codes, families' codes and families' names. */
export function allCodes(): string[] {
  return [...new Set(CATALOGUE.flatMap((e) => [e.code, ...(e.codes ?? [])]))].sort();
}
