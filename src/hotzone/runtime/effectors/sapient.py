"""SAPIENT (BSI Flex 335 v2.0) effectors: an order becomes a `Task` to a registered node.

Effectors register with hotzone's SAPIENT server (`hotzone.runtime.sapient_server`) like
sensors do, as ``NODE_TYPE_KINETIC``, ``JAMMER``, ``CYBER``, ``LDEW``, ``RFDEW``,
``MOBILE_NODE`` or ``POINTABLE_NODE``. The gateway

- admits a node only as the effector whose ``node_id`` and ``node_type`` the gateway file
  gives it (a node registering as a weapon or jammer under any other id is refused, and the
  server refuses a second connection claiming a connected node's id);
- turns a verified order into one ``CONTROL_START`` Task for that node (``destination_id``
  set), with the first command the node declared for its current mode, in this order of
  preference: a mobile node ``move_to`` the aim point; otherwise ``follow`` the object the
  node itself reports nearest the aim point, ``look_at`` the aim point, ``move_to`` it, or
  ``mode_change`` to the configured engage mode; a jammer is also given an
  area-of-interest ``region`` around the aim point when its mode declares that region type;
- follows the node's answers: TaskAck accepted -> ``acknowledged``, rejected ->
  ``rejected``, completed -> ``effect_observed``, failed -> ``failed``; a StatusReport naming
  the task as active -> ``in_progress``; a disconnection with the task open -> ``failed``;
- on abort sends ``CONTROL_STOP`` with the START's task id and command, and counts the
  order ``aborted`` when the node acknowledges the stop.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotzone.geo import geodesic_distance_m
from hotzone.ingest.sapient import mapping
from hotzone.ingest.sapient.messages import new_ulid
from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import (
    follow_pb2,
    location_pb2,
    range_bearing_pb2,
    registration_pb2,
    sapient_message_pb2,
    task_ack_pb2,
    task_pb2,
)
from hotzone.runtime.effectors.base import (
    EffectorGateway,
    Engagement,
    GatewayOptions,
    Lifecycle,
    Publish,
    readiness,
)
from hotzone.runtime.effectors.config import EffectorLink, SapientNodeType
from hotzone.runtime.sapient_server import SapientServer, SapientServerError
from hotzone.types import GeoPoint

Registration = registration_pb2.Registration
Task = task_pb2.Task
TaskStatus = task_ack_pb2.TaskAck.TaskStatus
CommandType = Registration.CommandType
NodeType = Registration.NodeType

NODE_TYPES: Mapping[SapientNodeType, int] = {
    SapientNodeType.KINETIC: NodeType.NODE_TYPE_KINETIC,
    SapientNodeType.JAMMER: NodeType.NODE_TYPE_JAMMER,
    SapientNodeType.CYBER: NodeType.NODE_TYPE_CYBER,
    SapientNodeType.LDEW: NodeType.NODE_TYPE_LDEW,
    SapientNodeType.RFDEW: NodeType.NODE_TYPE_RFDEW,
    SapientNodeType.MOBILE_NODE: NodeType.NODE_TYPE_MOBILE_NODE,
    SapientNodeType.POINTABLE_NODE: NodeType.NODE_TYPE_POINTABLE_NODE,
}
#: Node types that act on a target: only a configured effector may register as one.
WEAPON_TYPES = frozenset(
    {
        NodeType.NODE_TYPE_KINETIC,
        NodeType.NODE_TYPE_JAMMER,
        NodeType.NODE_TYPE_CYBER,
        NodeType.NODE_TYPE_LDEW,
        NodeType.NODE_TYPE_RFDEW,
    }
)

_MOBILE_PREFERENCE = (
    CommandType.COMMAND_TYPE_MOVE_TO,
    CommandType.COMMAND_TYPE_FOLLOW,
    CommandType.COMMAND_TYPE_LOOK_AT,
    CommandType.COMMAND_TYPE_MODE_CHANGE,
)
_PREFERENCE = (
    CommandType.COMMAND_TYPE_FOLLOW,
    CommandType.COMMAND_TYPE_LOOK_AT,
    CommandType.COMMAND_TYPE_MOVE_TO,
    CommandType.COMMAND_TYPE_MODE_CHANGE,
)


def _normal(node_id: str) -> str:
    try:
        return str(uuid.UUID(node_id))
    except ValueError:
        return node_id


def _type_name(node_type: int) -> str:
    return NodeType.Name(node_type).removeprefix("NODE_TYPE_")


def _location(point: GeoPoint) -> location_pb2.Location:
    return location_pb2.Location(
        x=point.lon_deg,
        y=point.lat_deg,
        z=point.height_m,
        coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
        datum=location_pb2.LOCATION_DATUM_WGS84_E,
    )


def _square(center: GeoPoint, radius_m: float) -> list[GeoPoint]:
    """The corners of a square of half-side ``radius_m`` around ``center``."""
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(center.lat_deg)), 1e-6))
    return [
        GeoPoint(center.lat_deg - dlat, center.lon_deg - dlon, center.height_m),
        GeoPoint(center.lat_deg - dlat, center.lon_deg + dlon, center.height_m),
        GeoPoint(center.lat_deg + dlat, center.lon_deg + dlon, center.height_m),
        GeoPoint(center.lat_deg + dlat, center.lon_deg - dlon, center.height_m),
    ]


@dataclass
class SapientNode:
    """A configured effector node and what it told us."""

    effector_id: str
    link: EffectorLink
    wire_id: str = ""
    """The node id as the node wrote it (the server's routing key)."""
    registration: registration_pb2.Registration | None = None
    connected: bool = False
    mode: str = ""
    objects: dict[str, GeoPoint] = field(default_factory=dict)
    """The latest location of each object the node reported, by its ``object_id``."""

    def current_mode(self) -> registration_pb2.Registration.ModeDefinition | None:
        if self.registration is None or not self.registration.mode_definition:
            return None
        modes = list(self.registration.mode_definition)
        for mode in modes:
            if mode.mode_name == self.mode:
                return mode
        for mode in modes:
            if mode.mode_type == Registration.ModeType.MODE_TYPE_DEFAULT:
                return mode
        return modes[0]

    def mode_names(self) -> set[str]:
        if self.registration is None:
            return set()
        return {mode.mode_name for mode in self.registration.mode_definition}

    def is_mobile(self) -> bool:
        return self.link.node_type is SapientNodeType.MOBILE_NODE


class SapientEffectorGateway(EffectorGateway):
    """Tasks SAPIENT effector nodes through hotzone's SAPIENT server."""

    interface = "sapient"

    def __init__(
        self,
        server: SapientServer,
        links: Mapping[str, EffectorLink],
        publish: Publish,
        options: GatewayOptions | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(links, publish, options, **overrides)
        self.server = server
        server.listener = self
        self.nodes = {
            _normal(link.node_id): SapientNode(effector_id, link)
            for effector_id, link in links.items()
        }
        self._by_effector = {node.effector_id: node for node in self.nodes.values()}
        self._task_ids: dict[str, str] = {}  # task id -> order id
        self._tasks_sent: dict[str, Task] = {}  # order id -> the START sent

    # --- SapientListener ------------------------------------------------------------

    def admit(self, node_id: str, registration: registration_pb2.Registration) -> Sequence[str]:
        declared = {item.node_type for item in registration.node_definition}
        names = ",".join(sorted(_type_name(value) for value in declared))
        node = self.nodes.get(_normal(node_id))
        if node is None:
            weapons = declared & WEAPON_TYPES
            if weapons:
                return [
                    f"node {node_id} registers as an effector ({names}) but is the node of "
                    f"no effector in the gateway file"
                ]
            return []
        assert node.link.node_type is not None  # the gateway file requires it
        expected = NODE_TYPES[node.link.node_type]
        if expected not in declared:
            return [
                f"node {node_id} registers as {names}, but effector {node.effector_id} is "
                f"configured as {_type_name(expected)}"
            ]
        node.wire_id = node_id
        node.registration = registration
        node.connected = True
        return []

    async def received(self, node_id: str, message: sapient_message_pb2.SapientMessage) -> None:
        node = self.nodes.get(_normal(node_id))
        if node is None:
            return
        content = message.WhichOneof("content")
        if content == "task_ack":
            await self._task_ack(message.task_ack)
        elif content == "status_report":
            status = message.status_report
            node.mode = status.mode
            if status.HasField("active_task_id"):
                order_id = self._task_ids.get(status.active_task_id)
                engagement = self.engagements.get(order_id or "")
                if engagement is not None and not engagement.stopping:
                    await self.advance(
                        engagement,
                        Lifecycle.IN_PROGRESS,
                        f"performing task {status.active_task_id} in mode {status.mode}",
                        task_id=status.active_task_id,
                        mode=status.mode,
                    )
        elif content == "detection_report":
            report = message.detection_report
            if report.WhichOneof("location_oneof") == "location" and report.object_id:
                with contextlib.suppress(ValueError):  # e.g. UTM: not followable here
                    node.objects[report.object_id] = mapping.geo_point(report.location)

    async def disconnected(self, node_id: str) -> None:
        node = self.nodes.get(_normal(node_id))
        if node is None:
            return
        node.connected = False
        for engagement in list(self.engagements.values()):
            if engagement.effector_id == node.effector_id and not engagement.final:
                if engagement.state is Lifecycle.EFFECT_OBSERVED and not engagement.stopping:
                    continue  # done before it went away
                await self.fail(
                    engagement,
                    f"node {node_id} disconnected with order {engagement.order_id} open",
                    kind="disconnected",
                )

    # --- EffectorGateway --------------------------------------------------------------

    def stoppable(self, engagement: Engagement) -> bool:
        return super().stoppable(engagement) and engagement.state is not Lifecycle.EFFECT_OBSERVED

    async def deliver(self, engagement: Engagement) -> None:
        node = self._by_effector[engagement.effector_id]
        if not node.connected:
            await self.fail(engagement, f"node of {node.effector_id} is not connected")
            return
        task, why = self._task_for(node, engagement)
        if task is None:
            await self.fail(engagement, why)
            return
        self._task_ids[task.task_id] = engagement.order_id
        self._tasks_sent[engagement.order_id] = task
        try:
            await self.server.send_task(node.wire_id, task)
        except (SapientServerError, ConnectionError) as error:
            await self.fail(engagement, f"task not sent: {error}")
            return
        command = str(task.command.WhichOneof("command"))
        await self.advance(
            engagement,
            Lifecycle.DELIVERED,
            f"task {task.task_id} ({command}) sent to node {node.wire_id}",
            task_id=task.task_id,
            command=command,
            node_id=node.wire_id,
        )

        async def cancel_unacknowledged() -> None:
            # A task nobody acknowledged must not start late: stop it, then give up.
            reason = f"node did not acknowledge task {task.task_id}"
            await self._send_stop(engagement, node)
            await self.fail(engagement, reason, kind="timeout_failed")

        if not engagement.final:
            self.await_ack(engagement, "task", cancel_unacknowledged)

    async def stop(self, engagement: Engagement, reason: str) -> None:
        node = self._by_effector[engagement.effector_id]
        self.answered(engagement, "task")
        if not await self._send_stop(engagement, node):
            await self.fail(
                engagement, f"could not send the stop: node of {node.effector_id} is not connected"
            )
            return

        async def unconfirmed() -> None:
            await self.fail(engagement, "node did not confirm the stop", kind="stop_unconfirmed")

        self.await_ack(engagement, "stop", unconfirmed)

    def status(self) -> list[dict[str, str]]:
        rows = []
        for node in self.nodes.values():
            active = self.active_orders(node.effector_id)
            mode = node.current_mode() if node.connected else None
            limit = mode.task.concurrent_tasks if mode is not None else 1
            rows.append(
                {
                    "effector_id": node.effector_id,
                    "interface": self.interface,
                    "address": f"node {node.link.node_id} ({node.link.node_type})",
                    "node_id": node.link.node_id,
                    "connection": "connected" if node.connected else "not connected",
                    "readiness": readiness(node.connected, len(active), limit),
                    "mode": node.mode,
                    "active_orders": ",".join(active),
                }
            )
        return rows

    # --- internals --------------------------------------------------------------------

    async def _send_stop(self, engagement: Engagement, node: SapientNode) -> bool:
        start = self._tasks_sent.get(engagement.order_id)
        if start is None or not node.connected:
            return False
        stop = Task()
        stop.CopyFrom(start)
        stop.control = Task.Control.CONTROL_STOP
        try:
            await self.server.send_task(node.wire_id, stop)
        except (SapientServerError, ConnectionError):
            return False
        return True

    async def _task_ack(self, ack: task_ack_pb2.TaskAck) -> None:
        order_id = self._task_ids.get(ack.task_id)
        engagement = self.engagements.get(order_id or "")
        if engagement is None:
            return
        reasons = "; ".join(ack.reason)
        status = TaskStatus.Name(ack.task_status).removeprefix("TASK_STATUS_").lower()
        if engagement.stopping:
            if ack.task_status in (
                TaskStatus.TASK_STATUS_ACCEPTED,
                TaskStatus.TASK_STATUS_COMPLETED,
            ):
                self.answered(engagement, "stop")
                await self.advance(
                    engagement, Lifecycle.ABORTED, "stop acknowledged", task_status=status
                )
            elif ack.task_status in (
                TaskStatus.TASK_STATUS_REJECTED,
                TaskStatus.TASK_STATUS_FAILED,
            ):
                self.answered(engagement, "stop")
                await self.fail(
                    engagement, f"node refused to stop: {reasons or status}", kind="stop_refused"
                )
            return
        match ack.task_status:
            case TaskStatus.TASK_STATUS_ACCEPTED:
                self.answered(engagement, "task")
                await self.advance(
                    engagement, Lifecycle.ACKNOWLEDGED, f"task {ack.task_id} accepted"
                )
            case TaskStatus.TASK_STATUS_REJECTED:
                self.answered(engagement, "task")
                await self.advance(
                    engagement,
                    Lifecycle.REJECTED,
                    f"task {ack.task_id} rejected: {reasons or 'no reason given'}",
                    reason=reasons,
                )
                await self.alert(
                    engagement,
                    "rejected",
                    f"{engagement.effector_id} rejected order {engagement.order_id}: "
                    f"{reasons or 'no reason given'}",
                )
            case TaskStatus.TASK_STATUS_COMPLETED:
                self.answered(engagement, "task")
                await self.advance(
                    engagement,
                    Lifecycle.EFFECT_OBSERVED,
                    f"task {ack.task_id} completed" + (f": {reasons}" if reasons else ""),
                    reason=reasons,
                )
            case TaskStatus.TASK_STATUS_FAILED:
                self.answered(engagement, "task")
                await self.fail(
                    engagement, f"task {ack.task_id} failed: {reasons or 'no reason given'}"
                )

    def _task_for(self, node: SapientNode, engagement: Engagement) -> tuple[Task | None, str]:
        mode = node.current_mode()
        if mode is None:
            return None, f"node of {node.effector_id} declared no mode"
        declared = {command.type for command in mode.task.command}
        limit = mode.task.concurrent_tasks
        busy = [
            e
            for e in self.engagements.values()
            if e.effector_id == node.effector_id
            and e is not engagement
            and not e.final
            and e.state is not Lifecycle.EFFECT_OBSERVED
            and e.order_id in self._tasks_sent
        ]
        if limit > 0 and len(busy) >= limit:
            return None, (
                f"node of {node.effector_id} runs {len(busy)} task(s), as many as mode "
                f"{mode.mode_name} allows"
            )
        order = engagement.order
        aim = engagement.aim
        description = (
            f"hotzone order {order.order_id}: {order.action} on track {order.track_id} "
            f"(proposal {order.proposal_hash[:12]}, decisions {', '.join(order.decision_ids)})"
        )
        command: Task.Command | None = None
        for kind in _MOBILE_PREFERENCE if node.is_mobile() else _PREFERENCE:
            if kind not in declared:
                continue
            command = self._command(kind, node, engagement, aim)
            if command is not None:
                break
        if command is None:
            names = ", ".join(
                sorted(CommandType.Name(value).removeprefix("COMMAND_TYPE_") for value in declared)
            )
            return None, (
                f"node of {node.effector_id} declared no command in mode {mode.mode_name} "
                f"that can carry the order (declared: {names or 'none'})"
            )
        task = Task(
            task_id=new_ulid(self.clock()),
            task_name=str(command.WhichOneof("command")),
            task_description=description,
            control=Task.Control.CONTROL_START,
            command=command,
        )
        if order.effect_window_end is not None:
            task.task_end_time.FromDatetime(order.effect_window_end)
        region_types = set(mode.task.region_definition.region_type)
        if (
            node.link.node_type is SapientNodeType.JAMMER
            and Registration.RegionType.REGION_TYPE_AREA_OF_INTEREST in region_types
        ):
            corners = _square(aim, node.link.region_radius_m)
            task.region.append(
                Task.Region(
                    type=Task.RegionType.REGION_TYPE_AREA_OF_INTEREST,
                    region_id=new_ulid(self.clock()),
                    region_name=f"order {order.order_id} target area",
                    region_area=range_bearing_pb2.LocationOrRangeBearing(
                        location_list=location_pb2.LocationList(
                            locations=[_location(corner) for corner in corners]
                        )
                    ),
                )
            )
        return task, ""

    def _command(
        self, kind: int, node: SapientNode, engagement: Engagement, aim: GeoPoint
    ) -> Task.Command | None:
        if kind == CommandType.COMMAND_TYPE_MOVE_TO:
            return Task.Command(move_to=location_pb2.LocationList(locations=[_location(aim)]))
        if kind == CommandType.COMMAND_TYPE_LOOK_AT:
            area = range_bearing_pb2.LocationOrRangeBearing(
                location_list=location_pb2.LocationList(locations=[_location(aim)])
            )
            return Task.Command(look_at=area)
        if kind == CommandType.COMMAND_TYPE_FOLLOW:
            object_id = self._object_near(node, aim, engagement.proposal.position_tolerance_m)
            if object_id is None:
                return None
            return Task.Command(follow=follow_pb2.FollowObject(follow_object_id=object_id))
        engage_mode = node.link.engage_mode
        if kind == CommandType.COMMAND_TYPE_MODE_CHANGE and engage_mode in node.mode_names():
            return Task.Command(mode_change=engage_mode)
        return None

    @staticmethod
    def _object_near(node: SapientNode, aim: GeoPoint, tolerance_m: float) -> str | None:
        if not node.objects:
            return None
        ids = list(node.objects)
        points = [node.objects[i] for i in ids]
        distances = geodesic_distance_m(
            [aim.lat_deg] * len(points),
            [aim.lon_deg] * len(points),
            [p.lat_deg for p in points],
            [p.lon_deg for p in points],
        )
        index = int(distances.argmin())
        return ids[index] if float(distances[index]) <= tolerance_m else None
