"""A token-checking front for pulsar-lite (which checks no credentials), for the OAuth2 tests.

Reads the client's CONNECT: a `token` whose HMAC signature (--signing-key, as token_server.py
signs) and expiry check out is let through to the broker; anything else is answered with an
ERROR (AuthenticationError) and closed, as a Pulsar broker does. Every --challenge-every
seconds it sends the client an AUTH_CHALLENGE, as a broker does when the token it holds
expires, and swallows the AUTH_RESPONSE after checking the token in it (an expired or missing
one closes the connection). Counts everything in --stats (JSON).

    auth_proxy.py --port P --broker-port B --signing-key K --stats FILE [--challenge-every S]
"""
import argparse
import asyncio
import hashlib
import hmac
import json
import os
import struct
import time

CONNECT, ERROR, AUTH_CHALLENGE, AUTH_RESPONSE = 2, 14, 36, 37
AUTHENTICATION_ERROR = 3


def varint(data: bytes, i: int):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(data: bytes) -> dict:
    """A protobuf message's fields: number -> last value (ints, or bytes for length-delimited)."""
    out, i = {}, 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            out[number], i = varint(data, i)
        elif wire == 2:
            length, i = varint(data, i)
            out[number] = data[i:i + length]
            i += length
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            raise ValueError("bad wire type")
    return out


def enc_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value) -> bytes:
    if isinstance(value, int):
        return enc_varint(number << 3) + enc_varint(value)
    if isinstance(value, str):
        value = value.encode()
    return enc_varint(number << 3 | 2) + enc_varint(len(value)) + value


def frame(command: bytes) -> bytes:
    return struct.pack(">II", len(command) + 4, len(command)) + command


def command_of(payload: bytes):
    size = struct.unpack(">I", payload[:4])[0]
    base = fields(payload[4:4 + size])
    return base.get(1), base


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(4)
    total = struct.unpack(">I", header)[0]
    return header + await reader.readexactly(total)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broker-port", type=int, required=True)
    parser.add_argument("--signing-key", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--challenge-every", type=float, default=0)
    args = parser.parse_args()
    stats = {"connects": 0, "refused": 0, "challenges": 0, "auth_responses": 0, "tokens": []}

    def save() -> None:
        with open(args.stats + ".tmp", "w") as f:
            json.dump(stats, f)
        os.replace(args.stats + ".tmp", args.stats)

    def valid(method: bytes, data: bytes) -> bool:
        if method != b"token":
            return False
        parts = data.decode(errors="replace").split(".")
        if len(parts) != 3 or parts[0] != "sluice-test":
            return False
        body = f"{parts[0]}.{parts[1]}"
        good = hmac.new(args.signing_key.encode(), body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, parts[2]):
            return False
        if int(parts[1]) / 1000 < time.time():
            return False
        if data.decode() not in stats["tokens"]:
            stats["tokens"].append(data.decode())
        return True

    async def refuse(writer: asyncio.StreamWriter, why: str) -> None:
        stats["refused"] += 1
        save()
        error = field(1, 0) + field(2, AUTHENTICATION_ERROR) + field(3, why)
        writer.write(frame(field(1, ERROR) + field(14, error)))
        await writer.drain()
        writer.close()

    async def handle(client_reader, client_writer):
        broker_writer = None
        try:
            first = await read_frame(client_reader)
            kind, base = command_of(first[4:])
            connect = fields(base.get(2, b"")) if kind == CONNECT else {}
            if kind != CONNECT or not valid(connect.get(5, b""), connect.get(3, b"")):
                await refuse(client_writer, "invalid or expired token")
                return
            stats["connects"] += 1
            save()
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", args.broker_port)
            broker_writer.write(first)
            lock = asyncio.Lock()
            pending = {"challenged": None}

            async def to_broker():
                while True:
                    data = await read_frame(client_reader)
                    kind, base = command_of(data[4:])
                    if kind == AUTH_RESPONSE:
                        response = fields(fields(base.get(37, b"")).get(2, b""))
                        if not valid(response.get(1, b""), response.get(2, b"")):
                            await refuse(client_writer, "the AUTH_RESPONSE token is invalid or expired")
                            return
                        stats["auth_responses"] += 1
                        pending["challenged"] = None
                        save()
                        continue
                    broker_writer.write(data)
                    await broker_writer.drain()

            async def to_client():
                while True:
                    data = await read_frame(broker_reader)
                    async with lock:
                        client_writer.write(data)
                        await client_writer.drain()

            async def challenge():
                while args.challenge_every > 0:
                    await asyncio.sleep(args.challenge_every)
                    if pending["challenged"] is not None and time.time() - pending["challenged"] > 5:
                        await refuse(client_writer, "no AUTH_RESPONSE within 5 s")
                        return
                    challenge = field(1, "auth-proxy") + field(2, field(1, "token") + field(2, "refresh")) + field(3, 21)
                    async with lock:
                        client_writer.write(frame(field(1, AUTH_CHALLENGE) + field(36, challenge)))
                        await client_writer.drain()
                    if pending["challenged"] is None:
                        pending["challenged"] = time.time()
                    stats["challenges"] += 1
                    save()

            tasks = [asyncio.ensure_future(t()) for t in (to_broker, to_client, challenge)]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            for w in (client_writer, broker_writer):
                if w is not None:
                    try:
                        w.close()
                    except Exception:
                        pass

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", args.port)
        save()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
