"""Send one raw Forward frame over TLS with Python's ssl module (OpenSSL) and print the reply.

usage: tls_send.py HOST PORT CA_FILE FRAME_HEX [CRT_FILE KEY_FILE]
Verifies the server against CA_FILE and HOST; presents CRT_FILE/KEY_FILE when given. Prints the
bytes received until the first reply or the end of the connection, as hex, on stdout. Exits 2
(with the reason on stderr) when the handshake fails or the connection ends without a reply.
Standard library only.
"""
import socket
import ssl
import sys


def main():
    host, port, ca, frame = sys.argv[1], int(sys.argv[2]), sys.argv[3], bytes.fromhex(sys.argv[4])
    ctx = ssl.create_default_context(cafile=ca)
    if len(sys.argv) > 6:
        ctx.load_cert_chain(sys.argv[5], sys.argv[6])
    try:
        with socket.create_connection((host, port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                tls.sendall(frame)
                reply = tls.recv(4096)
    except (ssl.SSLError, OSError) as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
    if not reply:
        print("connection closed without a reply", file=sys.stderr)
        sys.exit(2)
    print(reply.hex())


if __name__ == "__main__":
    main()
