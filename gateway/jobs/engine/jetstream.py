"""NATS JetStream engine: N gateway replicas share one queue of jobs and one bus of job events.

- Stream ``GATEWAY_JOBS`` (work-queue retention, file storage) on subjects ``gateway.jobs.high``,
  ``gateway.jobs.normal``, ``gateway.jobs.low``; one durable pull consumer per priority
  (``workers-high``, ``workers-normal``, ``workers-low``), explicit acks, ``ack_wait`` and
  ``max_deliver``. A worker asks high, then normal, then low (``no_wait`` pulls); a core
  subscription on ``gateway.jobs.*`` wakes idle workers when a job is published.
- A message's body is the job id; ``Nats-Msg-Id`` is the job id too, so a job queued twice
  within the duplicate window is stored once.
- A delivery not acked within ``ack_wait`` (the replica died, or stopped sending ``in_progress``)
  goes to another worker; a job delivered ``max_deliver`` times raises JetStream's max-deliveries
  advisory, which one replica (queue group) turns into ``on_exhausted`` and then removes the message.
- Events: core NATS subjects ``gateway.events.<job_id>`` (JSON); every replica subscribes to all.
- Replica figures: KV bucket ``GATEWAY_STATS`` whose entries expire after ``stats_ttl_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, KeyNotFoundError, NoKeysError, NotFoundError
from nats.js.kv import KeyValue

from gateway.core.errors import QueueUnavailableError
from gateway.jobs.engine.base import Delivery, Event, EventHandler, ExhaustedHandler, JobEngine
from gateway.jobs.models import Priority

logger = logging.getLogger(__name__)

STREAM = "GATEWAY_JOBS"
JOB_SUBJECT = "gateway.jobs"
EVENT_SUBJECT = "gateway.events"
STATS_BUCKET = "GATEWAY_STATS"
EXHAUSTED_GROUP = "gateway-exhausted"
IDLE_POLL_S = 1.0  # an idle worker looks again this often (redeliveries wake nobody)
REQUEST_TIMEOUT_S = 5.0


def job_subject(priority: Priority) -> str:
    return f"{JOB_SUBJECT}.{priority.name}"


def consumer_name(priority: Priority) -> str:
    return f"workers-{priority.name}"


class JetStreamDelivery(Delivery):
    def __init__(self, msg: Msg, priority: Priority) -> None:
        super().__init__(msg.data.decode(), priority, msg.metadata.num_delivered)
        self._msg = msg

    async def ack(self) -> None:
        try:
            await self._msg.ack_sync(timeout=REQUEST_TIMEOUT_S)
        except (NatsError, asyncio.TimeoutError) as error:  # it comes back after ack_wait; finished jobs are acked then
            logger.warning("job %s: ack not confirmed (%s); a later delivery settles it", self.job_id, error)

    async def retry(self, delay_s: float) -> None:
        await self._msg.nak(delay=delay_s)

    async def extend(self) -> None:
        await self._msg.in_progress()


class JetStreamEngine(JobEngine):
    """See the module docstring; ``url`` is a NATS URL such as ``nats://127.0.0.1:4222``."""

    name = "jetstream"
    resumes_from_store = False

    def __init__(
        self, url: str, ack_wait_s: float = 30.0, max_deliveries: int = 100, stats_ttl_s: float = 10.0, client_name: str = "gateway"
    ) -> None:
        self.url = url
        self.ack_wait_s = ack_wait_s
        self.max_deliveries = max_deliveries
        self.stats_ttl_s = stats_ttl_s
        self.client_name = client_name
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stats: KeyValue | None = None
        self._nudge = asyncio.Event()
        self._on_event: EventHandler = lambda event: None
        self._on_exhausted: ExhaustedHandler | None = None

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise QueueUnavailableError("the job engine is not connected")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise QueueUnavailableError("the job engine is not connected")
        return self._js

    async def start(self, on_event: EventHandler, on_exhausted: ExhaustedHandler) -> None:
        self._on_event, self._on_exhausted = on_event, on_exhausted
        try:
            self._nc = await nats.connect(
                self.url, name=self.client_name, connect_timeout=REQUEST_TIMEOUT_S, max_reconnect_attempts=-1,
                reconnect_time_wait=0.5, error_cb=self._connection_error,
            )
        except (NatsError, OSError, asyncio.TimeoutError) as error:
            raise QueueUnavailableError(f"cannot reach NATS at {self.url} (GATEWAY_NATS_URL): {error}") from error
        self._js = self.nc.jetstream(timeout=REQUEST_TIMEOUT_S)
        await self._declare()
        await self.nc.subscribe(f"{JOB_SUBJECT}.*", cb=self._published)
        await self.nc.subscribe(f"{EVENT_SUBJECT}.>", cb=self._event)
        advisory = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{STREAM}.*"
        await self.nc.subscribe(advisory, queue=EXHAUSTED_GROUP, cb=self._max_deliveries)
        await self.nc.flush()  # the server has the subscriptions: no event published after start() is missed
        logger.info("job engine: NATS JetStream at %s (stream %s)", self.url, STREAM)

    async def _declare(self) -> None:
        """The stream, one consumer per priority and the stats bucket; created if missing, else used as they are."""
        stream = StreamConfig(
            name=STREAM, subjects=[job_subject(priority) for priority in Priority],
            retention=RetentionPolicy.WORK_QUEUE, storage=StorageType.FILE,
        )
        try:
            await self.js.add_stream(stream)
        except BadRequestError:
            await self.js.update_stream(stream)
        for priority in Priority:
            consumer = ConsumerConfig(
                durable_name=consumer_name(priority), filter_subject=job_subject(priority), ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait_s, max_deliver=self.max_deliveries,
            )
            try:
                await self.js.add_consumer(STREAM, consumer)
            except BadRequestError as error:  # exists with other settings (another replica's): use it as it is
                logger.warning("consumer %s exists with other settings; using them (%s)", consumer.durable_name, error)
        self._stats = await self.js.create_key_value(bucket=STATS_BUCKET, ttl=self.stats_ttl_s)

    async def _connection_error(self, error: Exception) -> None:
        logger.warning("NATS at %s: %s", self.url, error)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def ping(self, timeout_s: float) -> None:
        """JetStream answers for the stream within ``timeout_s``."""
        try:
            await asyncio.wait_for(self.js.stream_info(STREAM), timeout_s)
        except (NatsError, asyncio.TimeoutError) as error:
            raise QueueUnavailableError(f"NATS JetStream at {self.url} did not answer for {STREAM}: {error!r}") from error

    async def enqueue(self, job_id: str, priority: Priority) -> None:
        try:
            await self.js.publish(job_subject(priority), job_id.encode(), stream=STREAM, headers={"Nats-Msg-Id": job_id})
        except (NatsError, asyncio.TimeoutError) as error:
            raise QueueUnavailableError(f"the job queue (NATS at {self.url}) did not take job {job_id}: {error}") from error

    async def take(self) -> Delivery:
        while True:
            nudged = self._nudge
            for priority in Priority:
                msg = await self._next(priority)
                if msg is not None:
                    return JetStreamDelivery(msg, priority)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(nudged.wait(), IDLE_POLL_S)

    async def _next(self, priority: Priority) -> Msg | None:
        """One message of ``priority``'s consumer, or None at once when it has none."""
        subject = f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{consumer_name(priority)}"
        try:  # old_style: the reply arrives on the message's own subject, not the request's inbox
            msg = await self.nc.request(subject, b'{"batch": 1, "no_wait": true}', timeout=REQUEST_TIMEOUT_S, old_style=True)
        except (NatsError, asyncio.TimeoutError, QueueUnavailableError) as error:
            logger.warning("cannot pull %s jobs from NATS (%s); trying again", priority.name, error)
            await asyncio.sleep(IDLE_POLL_S)
            return None
        if msg.headers and msg.headers.get("Status"):  # 404 no messages, 408 request expired
            return None
        return msg

    async def _published(self, msg: Msg) -> None:
        """A job was published: wake the idle workers (they pull in priority order)."""
        nudge, self._nudge = self._nudge, asyncio.Event()
        nudge.set()

    async def _event(self, msg: Msg) -> None:
        try:
            event = json.loads(msg.data)
        except ValueError:
            logger.warning("ignored a malformed event on %s", msg.subject)
            return
        self._on_event(event)

    async def _max_deliveries(self, msg: Msg) -> None:
        """JetStream gave up on a message: name the job's failure, then remove the message."""
        advisory = json.loads(msg.data)
        sequence, deliveries = int(advisory["stream_seq"]), int(advisory.get("deliveries", self.max_deliveries))
        try:
            stored = await self.js.get_msg(STREAM, sequence)
        except NotFoundError:
            return  # already handled
        job_id = (stored.data or b"").decode()
        if self._on_exhausted is not None:
            try:
                await self._on_exhausted(job_id, deliveries)
            except Exception:  # noqa: BLE001 - logged; the message stays for an operator to see
                logger.exception("job %s: could not record its delivery limit", job_id)
                return
        await self.js.delete_msg(STREAM, sequence)

    async def publish(self, event: Event) -> None:
        """Best effort (the record is the truth): while NATS reconnects the client buffers events;
        a connection that is gone loses them, logged."""
        try:
            await self.nc.publish(f"{EVENT_SUBJECT}.{event['job_id']}", json.dumps(event).encode())
        except (NatsError, QueueUnavailableError) as error:
            logger.warning("job %s: event %s not published (%s)", event.get("job_id"), event.get("status"), error)

    async def depth(self) -> dict[str, int]:
        return {priority.name: (await self._consumer(priority)).num_pending or 0 for priority in Priority}

    async def in_progress(self) -> int:
        return sum([(await self._consumer(priority)).num_ack_pending or 0 for priority in Priority])

    async def _consumer(self, priority: Priority) -> Any:
        try:
            return await self.js.consumer_info(STREAM, consumer_name(priority))
        except (NatsError, asyncio.TimeoutError) as error:
            raise QueueUnavailableError(f"NATS at {self.url} did not answer: {error}") from error

    async def publish_stats(self, replica: str, snapshot: dict[str, Any]) -> None:
        if self._stats is None:
            return
        try:
            await self._stats.put(replica, json.dumps(snapshot).encode())
        except (NatsError, asyncio.TimeoutError) as error:
            raise QueueUnavailableError(f"NATS at {self.url} did not store this replica's figures: {error!r}") from error

    async def replica_stats(self) -> dict[str, dict[str, Any]]:
        if self._stats is None:
            return {}
        try:
            return await self._read_stats(self._stats)
        except (NatsError, asyncio.TimeoutError) as error:
            raise QueueUnavailableError(f"NATS at {self.url} did not answer for the replicas' figures: {error!r}") from error

    @staticmethod
    async def _read_stats(bucket: KeyValue) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        try:
            names = await bucket.keys()
        except NoKeysError:
            return {}
        for name in names:
            try:
                entry = await bucket.get(name)
            except KeyNotFoundError:
                continue  # expired meanwhile
            if entry.value:
                found[name] = json.loads(entry.value)
        return found
