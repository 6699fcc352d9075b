"""A TAK unit (what an ATAK device is to hotzone) written with ``pytak``, in its own process.

It imports nothing of hotzone. It reads CoT on its UDP input (``--port``, as ATAK does on
4242) with pytak's read-only UDP client and RX worker, prints each event it receives as one
JSON line (the raw XML included, so the test can validate it against the CoT schema), and
answers taskings as ``--behaviour`` says, with pytak's TX worker to ``--reply-to``:

- ``ack``: a ``y-a`` (ack) reply linking the tasking's uid;
- ``complete``: ``y-a``, then ``y-c`` (tasking complete);
- ``silent``: never answers.

A delete (``t-x-d-d``) linking a tasking is acknowledged with ``y-a`` linking the delete's
uid (except ``silent``).

With ``--tcp-port`` it is a TAK endpoint on TCP instead (a TAK server's or ATAK's streaming
input): it accepts connections, reads CoT from each with pytak's RX worker over the stream
and answers on the same connection; ``--drop-after N`` closes a connection after the Nth
event received on it (the gateway must reconnect); with ``--tls-cert`` the input is TLS and
requires a client certificate of ``--tls-client-ca`` (a TAK server's 8089). Each
connection is printed (``{"event": "connection"}``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import warnings
import xml.etree.ElementTree as ET
from configparser import ConfigParser

with warnings.catch_warnings():
    # pytak warns at import about optional extras (TLS enrolment) that plain UDP does not use.
    warnings.simplefilter("ignore", UserWarning)
    import pytak


def say(**record: object) -> None:
    print(json.dumps(record), flush=True)


class Receiver(pytak.RXWorker):
    async def handle_data(self, data: bytes) -> None:  # pytak's abstract hook; unused
        pass


def reply(kind: str, linked_uid: str, linked_type: str) -> bytes:
    detail = ET.Element("detail")
    ET.SubElement(detail, "link", {"uid": linked_uid, "relation": "p-p", "type": linked_type})
    event = pytak.cot_event(
        lat=54.09, lon=22.99, uid=f"UNIT-{kind}-{linked_uid}", cot_type=kind, how="h-e",
        detail=detail, callsign="QRF-1", stale=60,
    )  # fmt: skip
    return pytak.serialize_cot(event)


def describe(data: bytes) -> tuple[ET.Element, dict[str, object]]:
    root = ET.fromstring(data)
    link = root.find("detail/link")
    signed = root.find("detail/hotzone_order")
    point = root.find("point")
    return root, {
        "event": "cot",
        "type": root.get("type"),
        "uid": root.get("uid"),
        "stale": root.get("stale"),
        "point": [float(point.get("lat", "nan")), float(point.get("lon", "nan"))]
        if point is not None
        else None,
        "link": link.get("uid") if link is not None else None,
        "order": json.loads(signed.text or "{}") if signed is not None else None,
        "xml": data.decode(),
    }


def answers(root: ET.Element, behaviour: str) -> list[bytes]:
    if behaviour == "silent":
        return []
    found = [reply("y-a", str(root.get("uid")), str(root.get("type")))]
    if behaviour == "complete" and root.get("type") == "t-k":
        found.append(reply("y-c", str(root.get("uid")), "t-k"))
    return found


async def serve_tcp(args: argparse.Namespace) -> None:
    config = ConfigParser()
    config["rx"] = {"COT_URL": f"tcp://127.0.0.1:{args.tcp_port}"}

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        say(event="connection")
        receiver = Receiver(asyncio.Queue(), config["rx"], reader)
        received = 0
        try:
            while True:
                data = await receiver.readcot()
                if not data:
                    return
                root, record = describe(data.strip())
                say(**record)
                received += 1
                for answer in answers(root, args.behaviour):
                    writer.write(answer)
                await writer.drain()
                if args.drop_after and received >= args.drop_after:
                    say(event="dropped")
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    tls = None
    if args.tls_cert:
        # A TAK server's TLS input: its certificate, and client certificates of its CA.
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        tls.load_verify_locations(cafile=args.tls_client_ca)
        tls.verify_mode = ssl.CERT_REQUIRED
    server = await asyncio.start_server(connection, "127.0.0.1", args.tcp_port, ssl=tls)
    say(event="ready")
    async with server:
        await server.serve_forever()


async def run(args: argparse.Namespace) -> None:
    if args.tcp_port:
        await serve_tcp(args)
        return
    config = ConfigParser()
    config["rx"] = {"COT_URL": f"udp+ro://127.0.0.1:{args.port}"}
    config["tx"] = {"COT_URL": f"udp+wo://{args.reply_to}"}
    reader, _ = await pytak.protocol_factory(config["rx"])
    inbox: asyncio.Queue[bytes] = asyncio.Queue()
    receiver = Receiver(inbox, config["rx"], reader)
    outbox: asyncio.Queue[bytes] = asyncio.Queue()
    sender = await pytak.txworker_factory(outbox, config["tx"])
    say(event="ready")
    while True:
        await receiver.run_once()
        while not inbox.empty():
            data = inbox.get_nowait()
            root, record = describe(data)
            say(**record)
            for answer in answers(root, args.behaviour):
                await outbox.put(answer)
                await sender.run_once()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="UDP CoT input")
    parser.add_argument("--reply-to", default="", help="HOST:PORT of hotzone's CoT replies")
    parser.add_argument("--tcp-port", type=int, default=0, help="TCP CoT input instead")
    parser.add_argument("--drop-after", type=int, default=0, help="close after N events")
    parser.add_argument("--tls-cert", default="", help="with --tcp-port: serve TLS (PEM)")
    parser.add_argument("--tls-key", default="", help="its key (PEM)")
    parser.add_argument("--tls-client-ca", default="", help="CA of client certificates")
    parser.add_argument("--behaviour", default="ack", choices=("ack", "complete", "silent"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
