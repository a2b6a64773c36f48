"""Test helpers for HTTPS: a certificate authority for the stand-in (trustme), and a CONNECT proxy.

The proxy is what a corporate HTTP proxy does for https URLs: it takes `CONNECT host:port`, opens
the connection (to loopback only, here), answers 200 and relays bytes both ways; TLS runs end to
end through it. It records every tunnel it opened, and can demand Basic credentials.
"""

import base64
import select
import socket
import ssl
import threading

import trustme

LOOPBACK = "127.0.0.1"
HEAD_LIMIT = 16384
RELAY_IDLE_TIMEOUT = 30


class CertificateAuthority:
    """A throwaway CA, and a server certificate from it for 127.0.0.1 and localhost."""

    def __init__(self, directory):
        self.ca = trustme.CA()
        self.ca_file = directory / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.server_certificate = self.ca.issue_cert(LOOPBACK, "localhost")

    def server_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_certificate.configure_cert(context)
        return context


class ConnectProxy:
    """An HTTP CONNECT proxy on a loopback port. tunnels: the "host:port" of every tunnel opened."""

    def __init__(self, credentials=None):
        self.credentials = credentials  # (user, password) the proxy demands, or None
        self.tunnels = []
        self.refused = 0
        self._sockets = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="connect-proxy-%d" % self.port, daemon=True)
        self._thread.start()

    def url(self, user=None, password=None):
        userinfo = "%s:%s@" % (user, password) if user is not None else ""
        return "http://%s%s:%d" % (userinfo, LOOPBACK, self.port)

    def close_tunnels(self):
        """Drop every open tunnel, as a proxy does with idle ones."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)

    def stop(self):
        _close(self._listener)
        self.close_tunnels()
        self._thread.join(timeout=5)

    def _serve(self):
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return  # stopped
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _track(self, *sockets):
        with self._lock:
            self._sockets.update(sockets)

    def _tunnel(self, client):
        self._track(client)
        client.settimeout(RELAY_IDLE_TIMEOUT)
        upstream = None
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < HEAD_LIMIT:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            request_line, *header_lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _version = request_line.split(" ", 2)
            headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
            headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host != LOOPBACK:
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            if self.credentials and headers.get("proxy-authorization") != "Basic " + base64.b64encode(
                    ("%s:%s" % self.credentials).encode()).decode():
                with self._lock:
                    self.refused += 1
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                               b"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
                return
            upstream = socket.create_connection((host, int(port)), timeout=10)
            self._track(upstream)
            with self._lock:
                self.tunnels.append(target)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._relay(client, upstream)
        except (OSError, ValueError):
            pass
        finally:
            for sock in (client, upstream):
                if sock is None:
                    continue
                _close(sock)
                with self._lock:
                    self._sockets.discard(sock)

    @staticmethod
    def _relay(client, upstream):
        peers = {client: upstream, upstream: client}
        while True:
            readable, _, _ = select.select(list(peers), [], [], RELAY_IDLE_TIMEOUT)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
