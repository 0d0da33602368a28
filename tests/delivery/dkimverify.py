"""Independent DKIM verifier for the delivery tests: dkimpy (Debian python3-dkim) with the key
fetched over DNS from the test's own server (dnspython pointed at it), never the system resolver.
Usage: dkimverify.py <dns-ip> <dns-port> < message ; exit 0 and prints "signature ok" when valid."""
import sys

import dkim
import dns.rdatatype
import dns.resolver

ip, port = sys.argv[1], int(sys.argv[2])
r = dns.resolver.Resolver(configure=False)
r.nameservers = [ip]
r.port = port


def txt(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    # An authoritative test server answers a CNAME without the target's records when the target
    # lies in another zone (a customer's selector CNAME into the provider zone, C4): follow it, as
    # a recursive resolver would.
    for _ in range(8):
        try:
            answer = r.resolve(name, "TXT", lifetime=timeout)
            return b"".join(b"".join(rr.strings) for rr in answer)
        except dns.resolver.NoAnswer as e:
            cname = [rr for rrset in e.response().answer if rrset.rdtype == dns.rdatatype.CNAME for rr in rrset]
            if not cname:
                raise
            name = cname[0].target.to_text()
    raise RuntimeError("CNAME chain too long")


message = sys.stdin.buffer.read()
if dkim.verify(message, dnsfunc=txt):
    print("signature ok")
    sys.exit(0)
print("signature invalid")
sys.exit(1)
