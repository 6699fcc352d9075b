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
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def run(args: argparse.Namespace) -> None:
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
            root = ET.fromstring(data)
            link = root.find("detail/link")
            signed = root.find("detail/hotzone_order")
            point = root.find("point")
            say(
                event="cot",
                type=root.get("type"),
                uid=root.get("uid"),
                stale=root.get("stale"),
                point=[float(point.get("lat", "nan")), float(point.get("lon", "nan"))]
                if point is not None
                else None,
                link=link.get("uid") if link is not None else None,
                order=json.loads(signed.text or "{}") if signed is not None else None,
                xml=data.decode(),
            )
            if args.behaviour == "silent":
                continue
            answers = [reply("y-a", str(root.get("uid")), str(root.get("type")))]
            if args.behaviour == "complete" and root.get("type") == "t-k":
                answers.append(reply("y-c", str(root.get("uid")), "t-k"))
            for answer in answers:
                await outbox.put(answer)
                await sender.run_once()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="UDP CoT input")
    parser.add_argument("--reply-to", required=True, help="HOST:PORT of hotzone's CoT replies")
    parser.add_argument("--behaviour", default="ack", choices=("ack", "complete", "silent"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
