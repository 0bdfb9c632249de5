"""`mtor admin GROUP [ACTION] [ARGS]`: every mtor.v1.Admin and mtor.v1.Peers call from a shell, with tables
people can read.

Apart from cli.py to keep that one small. Like it, this imports the client only when a command runs (or a
flag's value is checked), so that `mtor --help` stays fast."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .cli import add_client_arguments, client_tls

if TYPE_CHECKING:
    from mtor_client import MtorError, QuotaStatus, UsageReport
    from mtor_client.admin import (
        AdminClient,
        Device,
        FederationTotals,
        PeerInfo,
        Pool,
        RealmSnapshot,
        Specialisation,
        WorkerInfo,
    )

Handler = Callable[["AdminClient", argparse.Namespace], int]
SPECIAL_FORM = "TOPIC=KEYWORD[,KEYWORD...]:WORKER[,WORKER...]"

# ------------------------------------------------------------------ formatting --


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain-text columns, left-aligned to their widest cell: readable with many rows, greppable, no dependency."""
    cells = [list(headers)] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _duration(seconds: float) -> str:
    """Short and exact enough to read at a glance: 0.4s, 12s, 3m12s, 2h05m, 3d04h."""
    if seconds < 10:
        return f"{max(seconds, 0):.1f}s"
    s = int(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if s >= size:
            return f"{s // size}{unit}{(s % size) // sub_size:02d}{sub}"
    return f"{s}s"


def _when(at: datetime | None, none: str = "-") -> str:
    """Local time, to the second; `none` when there is no time."""
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at else none


def _age(at: datetime | None) -> str:
    return _duration((datetime.now(timezone.utc) - at).total_seconds()) if at else "-"


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f}"


def _cost(value: float) -> str:
    return f"{value:.4f}"


def _json_value(value: object) -> object:
    """What json.dumps cannot write itself: times as ISO 8601, anything else (errors, bytes) as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _print_json(value: object) -> None:
    if isinstance(value, (list, tuple)):
        value = [asdict(v) if is_dataclass(v) else v for v in value]
    elif is_dataclass(value):
        value = asdict(value)
    print(json.dumps(value, indent=2, default=_json_value))


def _show(args: argparse.Namespace, items: Sequence[Any], headers: Sequence[str],
          row: Callable[[Any], Sequence[object]], empty: str) -> int:
    """A listing as a table (or JSON with --json); `empty` says so plainly when there is nothing."""
    if args.json:
        _print_json(items)
    else:
        print(table(headers, [row(item) for item in items]) if items else empty)
    return 0


# ----------------------------------------------------------- flag value types --


def _names(value: str) -> tuple[str, ...]:
    """"w1,w2" -> ("w1", "w2")."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _choice(value: str, known: Sequence[str], what: str) -> str:
    if value not in known:
        raise argparse.ArgumentTypeError(f"unknown {what} {value!r}; use one of {', '.join(known)}")
    return value


def _kind(value: str) -> str:
    from mtor_client.kinds import WORKER_KINDS

    return _choice(value, WORKER_KINDS, "kind")


def _strategy(value: str) -> str:
    from mtor_client.admin import STRATEGIES

    return _choice(value, tuple(STRATEGIES), "strategy")


def _role(value: str) -> str:
    from mtor_client.admin import ROLES

    return _choice(value, tuple(ROLES), "role")


def _specialisation(value: str) -> Specialisation:
    from mtor_client.admin import Specialisation

    topic, _, rest = value.partition("=")
    keywords, _, workers = rest.partition(":")
    special = Specialisation(topic.strip(), _names(keywords), _names(workers))
    if not (special.topic and special.keywords and special.workers):
        raise argparse.ArgumentTypeError(f"{value!r}: use {SPECIAL_FORM}")
    return special


def _kinds_list(value: str) -> tuple[str, ...]:
    """"chat,speak" -> ("chat", "speak"), each a kind."""
    from mtor_client.kinds import KINDS

    return tuple(_choice(kind, KINDS, "kind") for kind in _names(value))


def _since(value: str) -> datetime:
    """An ISO 8601 date or date and time (2025-03-04, 2025-03-04T12:00, ...+02:00); local time without an offset."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: use an ISO 8601 date or time, e.g. 2025-03-04 or "
                                         "2025-03-04T09:30") from None
    return at if at.tzinfo else at.astimezone()  # a naive time is local


def _special_text(special: Specialisation) -> str:
    """The form --special takes, so that a listed pool reads as the command that set it."""
    return f"{special.topic}={','.join(special.keywords)}:{','.join(special.workers)}"


# --------------------------------------------------------------------- workers --


def _state(w: WorkerInfo) -> str:
    states = []
    if w.blacklisted:
        states.append("blacklisted by sysop" if w.blacklisted_by_sysop else "blacklisted (health)")
    if w.draining:
        states.append("draining")
    return ", ".join(states) or "available"


def _kinds(capabilities: dict[str, tuple[str, ...]]) -> str:
    """chat[m1,m2] per kind; a kind alone serves any model."""
    return " ".join(f"{kind}[{','.join(models)}]" if models else kind for kind, models in capabilities.items())


def _device(d: Device) -> str:
    name = f"{d.type} {d.name}" if d.name and d.name != d.type else d.type
    return f"{name} {_gib(d.vram_free_bytes)}/{_gib(d.vram_total_bytes)} GiB" if d.vram_total_bytes else name


def _worker_row(w: WorkerInfo) -> Sequence[object]:
    return (w.name, w.health, _state(w), f"{w.running}/{w.max_concurrency}", _kinds(w.capabilities),
            "; ".join(_device(d) for d in w.devices) or "-", _duration(w.heartbeat_age_s))


def list_workers(admin: AdminClient, args: argparse.Namespace) -> int:
    return _show(args, admin.workers(), ("NAME", "HEALTH", "STATE", "RUNNING", "KINDS[MODELS]",
                                         "DEVICE (VRAM FREE/TOTAL)", "HEARTBEAT"), _worker_row,
                 "no workers connected")


def list_network(admin: AdminClient, args: argparse.Namespace) -> int:
    """Workers seen around the realm (joined, refused with why, or only announced), then other realms."""
    network = admin.network()
    if args.json:
        _print_json(network)
        return 0

    def worker_row(w: Any) -> Sequence[object]:
        state = w.state if w.state != "refused" else f"refused x{w.refusals}: {w.reason}"
        if w.state == "discovered" and w.serves_realm:
            state += f" (serves {w.serves_realm})"
        return (w.name or "?", w.address or "-", state, ",".join(w.kinds) or "-", w.device or "-", _age(w.since))

    def realm_row(r: Any) -> Sequence[object]:
        return (r.name, r.address, r.id[:8], r.protocol, ",".join(r.kinds) or "-", "on" if r.tls else "off",
                r.found_by)

    print(table(("WORKER", "ADDRESS", "STATE", "KINDS", "DEVICE", "SINCE"), [worker_row(w) for w in network.workers])
          if network.workers else "no workers seen")
    print()
    print(table(("REALM", "ADDRESS", "ID", "PROTOCOL", "KINDS", "TLS", "FOUND BY"),
                [realm_row(r) for r in network.realms]) if network.realms else "no other realms seen")
    if not network.watching:
        print("\nnot listening for announcements on the local network (config discovery.watch, or it failed: see "
              "the realm's log); only connections and seeds are known")
    for error in network.seed_errors:
        print(f"seed: {error}")
    return 0


def _worker_done(verb: str, w: WorkerInfo) -> int:
    print(f"{verb} {w.name}: {_state(w)}, {w.running}/{w.max_concurrency} running")
    return 0


def remove_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    admin.remove_worker(args.name)
    print(f"removed {args.name}: disconnected, its work goes to other workers; it is refused until "
          f"`mtor admin workers readmit {args.name}`")
    return 0


def drain_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    return _worker_done("drained", admin.drain_worker(args.name))


def blacklist_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    return _worker_done("blacklisted", admin.blacklist_worker(args.name))


def readmit_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    worker = admin.readmit_worker(args.name)
    if worker is None:
        print(f"readmitted {args.name}: not connected now; it may join again")
        return 0
    return _worker_done("readmitted", worker)


# ----------------------------------------------------------------------- pools --


def _pool_row(p: Pool) -> Sequence[object]:
    return (f"${p.name}", p.kind, p.strategy, ",".join(p.workers),
            " ".join(_special_text(s) for s in p.specialisations) or "-")


POOL_HEADERS = ("POOL", "KIND", "STRATEGY", "WORKERS", "SPECIALISATIONS")


def list_pools(admin: AdminClient, args: argparse.Namespace) -> int:
    return _show(args, admin.pools(), POOL_HEADERS, _pool_row,
                 "no pools (add one: mtor admin pools set NAME --kind KIND --workers W1,W2)")


def set_pool(admin: AdminClient, args: argparse.Namespace) -> int:
    from mtor_client.admin import Pool

    pool = admin.set_pool(Pool(args.name.lstrip("$"), args.kind, args.workers, args.strategy, tuple(args.special)))
    print(table(POOL_HEADERS, [_pool_row(pool)]))
    print(f"callers use it as the model ${pool.name}")
    return 0


def delete_pool(admin: AdminClient, args: argparse.Namespace) -> int:
    name = args.name.lstrip("$")
    admin.delete_pool(name)
    print(f"deleted pool ${name}; intents that waited for it fail")
    return 0


# ----------------------------------------------------------------------- queue --


def list_queue(admin: AdminClient, args: argparse.Namespace) -> int:
    def row(e: Any) -> Sequence[object]:
        i = e.intent
        where = i.worker if i.state == "running" else f"#{i.queue_position}" if i.queue_position else "-"
        return (i.intent_id, e.user, i.kind, i.model or "any", i.state, where, _age(i.created_at))

    return _show(args, admin.queue(), ("ID", "USER", "KIND", "MODEL", "STATE", "WORKER/POSITION", "AGE"), row,
                 "the queue is empty: nothing queued or running")


def cancel_intent(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"{args.intent_id}: {admin.cancel_intent(args.intent_id, args.reason)}")
    return 0


def clear_queue(admin: AdminClient, args: argparse.Namespace) -> int:
    cancelled = admin.clear_queue(args.kind or "")
    print(f"cancelled {_plural(cancelled, 'queued intent')}{f' of kind {args.kind}' if args.kind else ''}; "
          "running ones go on")
    return 0


# ----------------------------------------------------------------------- users --


def list_users(admin: AdminClient, args: argparse.Namespace) -> int:
    def row(u: Any) -> Sequence[object]:
        banned = (f"yes: {u.ban_reason}" if u.ban_reason else "yes") if u.banned else "no"
        return (u.name, u.role, banned, u.live_tokens, _when(u.created_at))

    return _show(args, admin.users(), ("NAME", "ROLE", "BANNED", "LIVE TOKENS", "CREATED"), row, "no users")


def add_user(admin: AdminClient, args: argparse.Namespace) -> int:
    user = admin.create_user(args.name, args.role)
    print(f"created {user.role} {user.name}; give them a token: mtor admin tokens create {user.name}")
    return 0


def set_role(admin: AdminClient, args: argparse.Namespace) -> int:
    user = admin.set_role(args.name, args.role)
    print(f"{user.name} is now a {user.role}")
    return 0


def ban_user(admin: AdminClient, args: argparse.Namespace) -> int:
    user = admin.ban(args.name, args.reason)
    print(f"banned {user.name}{f' ({user.ban_reason})' if user.ban_reason else ''}: their calls are refused "
          "and their queued and running intents were cancelled")
    return 0


def unban_user(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"unbanned {admin.unban(args.name).name}")
    return 0


def terminate_user(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"cancelled {_plural(admin.terminate(args.name), 'intent')} of {args.name}")
    return 0


# ---------------------------------------------------------------------- tokens --


def list_tokens(admin: AdminClient, args: argparse.Namespace) -> int:
    def row(t: Any) -> Sequence[object]:
        return (t.prefix, t.purpose, t.user or "-", t.label or "-", _when(t.created_at), _when(t.expires_at, "never"),
                _when(t.revoked_at))

    return _show(args, admin.tokens(args.user, include_dead=args.all),
                 ("PREFIX", "PURPOSE", "USER", "LABEL", "CREATED", "EXPIRES", "REVOKED"), row,
                 "no tokens" if args.all else "no live tokens (--all shows revoked and expired ones too)")


def _new_token(new: Any, whose: str) -> int:
    """The secret alone on stdout (so that `$(mtor admin tokens create ...)` captures it), the rest on stderr."""
    info = new.info
    print(f"{whose} (prefix {info.prefix}, label {info.label or '-'}, expires {_when(info.expires_at, 'never')}):",
          file=sys.stderr, flush=True)
    print(new.token, flush=True)
    print("keep it now: it is not shown again (the realm keeps only its hash)", file=sys.stderr)
    return 0


def create_token(admin: AdminClient, args: argparse.Namespace) -> int:
    return _new_token(admin.create_token(args.user, label=args.label, ttl_s=args.ttl), f"token for {args.user}")


def create_join_token(admin: AdminClient, args: argparse.Namespace) -> int:
    return _new_token(admin.create_join_token(label=args.label, ttl_s=args.ttl),
                      "worker join token (mtor worker --join-token, or $MTOR_JOIN_TOKEN)")


def revoke_token(admin: AdminClient, args: argparse.Namespace) -> int:
    t = admin.revoke_token(args.prefix)
    print(f"revoked {t.prefix} ({t.purpose} token{f' of {t.user}' if t.user else ''}, label {t.label or '-'})")
    return 0


# ----------------------------------------------------------- quotas and usage --


def _quota_text(q: QuotaStatus | None) -> str:
    if q is None:
        return "-"
    rate = f"{q.requests_per_minute} intents/min" if q.requests_per_minute else "no limit"
    budget = f"{_cost(q.budget)} per {_duration(q.budget_period_s)}" if q.budget else "no limit"
    ends = f" (ends {_when(q.period_ends)})" if q.period_ends else ""
    return f"rate {rate}; budget {budget}; spent {_cost(q.spent)} this period{ends}"


def set_quota(admin: AdminClient, args: argparse.Namespace) -> int:
    status = admin.set_quota(args.user, requests_per_minute=args.rpm, budget=args.budget)
    print(f"quota of {args.user}: {_quota_text(status)}")
    return 0


def _kinds_table(report: UsageReport) -> str:
    rows = [(k.kind, k.intents, k.succeeded, _duration(k.processing_s), _duration(k.queue_wait_s), _cost(k.cost),
             _duration(k.mean_service_s)) for k in report.kinds]
    headers = ("KIND", "INTENTS", "SUCCEEDED", "PROCESSING", "QUEUE WAIT", "COST", "MEAN SERVICE")
    return table(headers, rows) if rows else "no intents finished yet"


def stats(admin: AdminClient, args: argparse.Namespace) -> int:
    s = admin.stats(args.user)
    if args.json:
        _print_json(s)
        return 0
    realm = s.realm
    print(f"realm: {_plural(realm.intents, 'intent')}, {_duration(realm.processing_s)} processing, cost "
          f"{_cost(realm.cost)}; users connected now {s.users_connected}, most ever {s.most_users_connected}")
    print(f"\n{_kinds_table(realm)}\n")
    rows = [(u.user, u.intents, _duration(u.processing_s), _cost(u.cost), _quota_text(u.quota)) for u in s.users]
    print(table(("USER", "INTENTS", "PROCESSING", "COST", "QUOTA"), rows) if rows else "no user has used the realm")
    for user in s.users if args.user else ():
        print(f"\n{user.user} by kind:\n{_kinds_table(user)}")
    return 0


# ------------------------------------------------------------------ peer realms --


def _peer_state(p: PeerInfo) -> str:
    return f"{p.state}, not healthy" if p.state == "up" and not p.healthy else p.state


def _peer_row(p: PeerInfo) -> Sequence[object]:
    """KINDS: what its last capacity report offers this realm, with free slots."""
    kinds = ", ".join(f"{k.kind}:{k.free_slots} free" for k in p.capacity)
    return (p.name, p.address or "-", _peer_state(p), kinds or "-", f"{p.rtt_ms:.1f}ms" if p.rtt_ms else "-",
            p.running, p.detail or "-")


PEER_HEADERS = ("NAME", "ADDRESS", "STATE", "KINDS", "RTT", "RUNNING", "DETAIL")


def list_peers(admin: AdminClient, args: argparse.Namespace) -> int:
    return _show(args, admin.peers(), PEER_HEADERS, _peer_row,
                 "no peers (add one: mtor admin peer add NAME --address HOST:PORT --peer-token TOKEN)")


def add_peer(admin: AdminClient, args: argparse.Namespace) -> int:
    new = admin.add_peer(args.name, address=args.address, token=args.peer_token, kinds=args.kinds,
                         requests_per_minute=args.rpm, budget=args.budget)
    if args.json:
        _print_json(new)
        return 0
    p = new.peer
    print(table(PEER_HEADERS, [_peer_row(p)]))
    rate = f"{p.requests_per_minute} intents/min" if p.requests_per_minute else "no limit"
    budget = f"{_cost(p.budget)} per budget period" if p.budget else "no limit"
    print(f"\naccepted from {p.name}: {','.join(p.kinds) or 'every kind'}; rate {rate}; budget {budget}")
    if not new.token:
        print(f"{p.name} was known already: the token it presents here is unchanged")
        return 0
    print(f"the token {p.name} presents when it calls this realm (not shown again):\n{new.token}")
    print(f"give it to {p.name}'s sysop, who runs: mtor admin peer add THIS-REALM --address THIS-ADDRESS "
          f"--peer-token {new.token}")
    return 0


def remove_peer(admin: AdminClient, args: argparse.Namespace) -> int:
    admin.remove_peer(args.name)
    print(f"removed peer {args.name}: its token is revoked and the link closed; intents it ran for this realm go "
          "elsewhere")
    return 0


def _totals_text(t: FederationTotals) -> str:
    return f"{t.intents}/{t.succeeded}"


def federation_usage(admin: AdminClient, args: argparse.Namespace) -> int:
    since = f" since {_when(args.since)}" if args.since else ""
    return _show(args, admin.federation_usage(args.since),
                 ("PEER", "FOR THEM", "COST FOR THEM", "FOR US", "COST FOR US"),
                 lambda u: (u.peer, _totals_text(u.served_for_them), _cost(u.served_for_them.cost),
                            _totals_text(u.served_for_us), _cost(u.served_for_us.cost)),
                 f"no intents between this realm and its peers{since}")


# ---------------------------------------------------------- notices and audit --


def broadcast(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"notice sent to {_plural(admin.broadcast(' '.join(args.text)), 'recipient')}")
    return 0


def audit(admin: AdminClient, args: argparse.Namespace) -> int:
    return _show(args, admin.audit(args.limit), ("TIME", "ACTOR", "ACTION", "TARGET", "DETAIL"),
                 lambda e: (_when(e.time), e.actor, e.action, e.target or "-", e.detail or "-"),
                 "the audit log is empty")


def _clock(at: datetime | None) -> str:
    return (at or datetime.now(timezone.utc)).astimezone().strftime("%H:%M:%S")


def snapshot_text(s: RealmSnapshot) -> str:
    """A snapshot in one line: each worker's health, load and state; each kind's queue."""
    workers = ", ".join(f"{w.name} {w.health}% {w.running}/{w.max_concurrency}"
                        + ("" if _state(w) == "available" else f" {_state(w)}") for w in s.workers)
    queue = ", ".join(f"{k.kind} {k.running} running {k.queued} queued" for k in s.kinds) or "empty"
    workers = f"workers {len(s.workers)}{f': {workers}' if workers else ''}"
    return f"{workers}  |  queue {queue}  |  users {s.users_connected}"


def watch(admin: AdminClient, args: argparse.Namespace) -> int:
    """A line per snapshot that shows something new (heartbeats alone make snapshots too), and per notice, until
    Ctrl-C: that is how a person ends it, so it is a success."""
    from mtor_client.admin import RealmSnapshot

    last = ""
    try:
        for event in admin.watch(min_interval_s=args.interval):
            if isinstance(event, RealmSnapshot):
                text = snapshot_text(event)
                if text == last:
                    continue
                last = text
            else:
                text = f"notice [{event.level}] {event.text}"
            print(f"{_clock(event.time)}  {text}", flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


# ---------------------------------------------------------------- the parsers --


def _command(sub: Any, name: str, handler: Handler, help: str, aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
    """A parser below `mtor admin` that runs `handler`; it takes --realm, --token and --data-dir too."""
    p = sub.add_parser(name, aliases=list(aliases), help=help, description=help)
    add_client_arguments(p, nested=True)
    p.set_defaults(handler=handler)
    return p


def _listing(sub: Any, name: str, handler: Handler, help: str,
             flags: Callable[[argparse.ArgumentParser, Callable[[object], object]], object] | None = None,
             actions: bool = False, aliases: Sequence[str] = (), list_action: str = "list") -> Any:
    """`mtor admin NAME` lists (and with `actions`, so does `NAME list`, or `NAME LIST_ACTION`, and NAME's
    actions go in the returned subparsers). `flags(parser, default)` adds the listing's options; `default` keeps
    the outer value on `list`."""
    group = _command(sub, name, handler, help, aliases)
    parsers = [(group, lambda value: value)]
    subparsers = None
    if actions:
        subparsers = group.add_subparsers(dest="action", metavar="ACTION")
        listing = _command(subparsers, list_action, handler, f"the same as `mtor admin {name}`")
        parsers.append((listing, lambda value: argparse.SUPPRESS))
    for p, default in parsers:
        p.add_argument("--json", action="store_true", default=default(False), help="print JSON, not a table")
        if flags:
            flags(p, default)
    return subparsers


def _workers(sub: Any) -> None:
    actions = _listing(sub, "workers", list_workers, "connected workers (no ACTION: list them)", actions=True)
    for name, handler, help in (
            ("remove", remove_worker, "disconnect a worker now (its work goes elsewhere) and refuse it until readmit"),
            ("drain", drain_worker, "give a worker no new work; what it runs finishes"),
            ("blacklist", blacklist_worker, "no new work for a worker until readmit (unlike a health blacklisting)"),
            ("readmit", readmit_worker, "undo remove, drain or blacklist (or a health blacklisting)")):
        _command(actions, name, handler, help).add_argument("name", help="the worker's name")


def _network(sub: Any) -> None:
    _listing(sub, "network", list_network, "workers seen on the network (joined, refused and why, or only "
             "announced) and other realms")


def _pools(sub: Any) -> None:
    actions = _listing(sub, "pools", list_pools, "pool aliases: callers ask for the model $NAME (no ACTION: list)",
                       actions=True)
    p = _command(actions, "set", set_pool, "create or replace a pool alias")
    p.add_argument("name", help="the alias, without the $")
    p.add_argument("--kind", type=_kind, required=True, help="the kind its members serve, e.g. chat")
    p.add_argument("--workers", type=_names, required=True, metavar="W1,W2", help="its members")
    p.add_argument("--strategy", type=_strategy, default="auto",
                   help="auto (default), health, round_robin, least_busy or random")
    p.add_argument("--special", type=_specialisation, action="append", default=[], metavar="TOPIC=KW,KW:W,W",
                   help=f"{SPECIAL_FORM}: prefer these members for prompts with one of these words (repeatable)")
    _command(actions, "delete", delete_pool, "delete a pool alias; what waits for it fails").add_argument(
        "name", help="the alias")


def _queue(sub: Any) -> None:
    actions = _listing(sub, "queue", list_queue, "running intents, then queued ones in order (no ACTION: list)",
                       actions=True)
    p = _command(actions, "cancel", cancel_intent, "cancel any user's intent")
    p.add_argument("intent_id", metavar="ID")
    p.add_argument("--reason", default="", help="told to its user (default: cancelled by the sysop)")
    p = _command(actions, "clear", clear_queue, "cancel every queued intent (running ones finish)")
    p.add_argument("--kind", type=_kind, default=None, help="only this kind (default: every kind)")


def _users(sub: Any) -> None:
    actions = _listing(sub, "users", list_users, "users (no ACTION: list them)", actions=True)
    p = _command(actions, "add", add_user, "a new user (then: mtor admin tokens create NAME)")
    p.add_argument("name")
    p.add_argument("--role", type=_role, default="user", help="user (default) or sysop")
    p = _command(actions, "role", set_role, "make a user a sysop, or a sysop a user")
    p.add_argument("name")
    p.add_argument("role", type=_role, help="user or sysop")
    p = _command(actions, "ban", ban_user, "refuse a user's calls and cancel their work")
    p.add_argument("name")
    p.add_argument("--reason", default="", help="shown to them")
    _command(actions, "unban", unban_user, "lift a ban").add_argument("name")
    _command(actions, "terminate", terminate_user, "cancel a user's work without banning").add_argument("name")


def _peers(sub: Any) -> None:
    actions = _listing(sub, "peer", list_peers, "peer realms and their links (no ACTION: list them)", actions=True,
                       aliases=("peers",))
    p = _command(actions, "add", add_peer, "trust a peer realm, or change it; a new one's token is shown once")
    p.add_argument("name", help="a name for it (letters, digits, ., _, -)")
    p.add_argument("--address", default="", metavar="HOST:PORT",
                   help="where to call it (grpcs://HOST:PORT for TLS); default: it only calls this realm")
    p.add_argument("--peer-token", default="", metavar="TOKEN",
                   help="the token its sysop made for this realm (needed with --address; --token is yours)")
    p.add_argument("--kinds", type=_kinds_list, default=(), metavar="KIND,KIND",
                   help="kinds accepted from it (default: every kind)")
    p.add_argument("--rpm", type=int, default=0, metavar="N", help="intents per minute accepted from it (0: no limit)")
    p.add_argument("--budget", type=float, default=0.0, metavar="X",
                   help="cost served for it per budget period (0: no limit)")
    p.add_argument("--json", action="store_true", help="print JSON, with the token, not a table")
    _command(actions, "remove", remove_peer, "stop trusting a peer realm: revoke its token, close the link"
             ).add_argument("name")


def _federation(sub: Any) -> None:
    _listing(sub, "federation", federation_usage, "per peer realm: intents served for it and by it, with their "
             "cost (no ACTION: usage)", lambda p, default: p.add_argument(
                 "--since", type=_since, default=default(None), metavar="TIME",
                 help="only intents finished since then (ISO 8601, e.g. 2025-03-04 or 2025-03-04T09:30)"),
             actions=True, list_action="usage")


def _token_list_flags(p: argparse.ArgumentParser, default: Callable[[object], object]) -> None:
    p.add_argument("--user", default=default(""), help="only this user's tokens")
    p.add_argument("--all", action="store_true", default=default(False), help="revoked and expired ones too")


def _tokens(sub: Any) -> None:
    actions = _listing(sub, "tokens", list_tokens, "tokens, without their secrets (no ACTION: list the live ones)",
                       _token_list_flags, actions=True)
    create = _command(actions, "create", create_token, "a new token for a user: shown once")
    create.add_argument("user")
    join = _command(actions, "join", create_join_token, "a new worker join token: shown once")
    for p in (create, join):
        p.add_argument("--label", default="", help="a note, e.g. where it will be used")
        p.add_argument("--ttl", type=float, default=0, metavar="SECONDS", help="lifetime (default: never expires)")
    _command(actions, "revoke", revoke_token, "revoke a token").add_argument(
        "prefix", help="the start of its prefix, as listed; must match one live token")


def _others(sub: Any) -> None:
    p = _command(sub, "quota", set_quota, "set a user's quota; limits left out return to the realm's defaults")
    p.add_argument("user")
    p.add_argument("--rpm", type=int, default=None, metavar="N", help="intents per minute (0: no limit)")
    p.add_argument("--budget", type=float, default=None, metavar="X", help="cost per budget period (0: no limit)")
    _listing(sub, "stats", stats, "usage of the realm, per kind and per user",
             lambda p, default: p.add_argument("--user", default=default(""), help="only this user"))
    _command(sub, "broadcast", broadcast, "send a notice to every caller following notices").add_argument(
        "text", nargs="+")
    _listing(sub, "audit", audit, "the audit log of every Admin change, newest first",
             lambda p, default: p.add_argument("--limit", type=int, default=default(100), metavar="N",
                                               help="most entries (default %(default)s)"))
    _command(sub, "watch", watch, "the realm live: a line per change and each notice, until Ctrl-C").add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="least seconds between two lines (default 1)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`mtor admin`'s tree, under the parser cli.py made for it."""
    p.description = ("Run a realm as its sysop: every call needs a sysop's token (--token or $MTOR_TOKEN). "
                     "A group without an ACTION lists.")
    add_client_arguments(p)
    sub = p.add_subparsers(dest="group", required=True, metavar="GROUP")
    for add in (_workers, _network, _pools, _queue, _users, _tokens, _peers, _federation, _others):
        add(sub)


def _hint(e: MtorError, realm: str) -> str:
    """The usual cause of the errors a person meets first."""
    return {"PERMISSION_DENIED": " (mtor admin needs a sysop's token: --token or $MTOR_TOKEN)",
            "UNAUTHENTICATED": " (check --token or $MTOR_TOKEN)",
            "UNAVAILABLE": f" (is the realm at {realm} running? --realm or $MTOR_REALM)"}.get(e.code.name, "")


def main(args: argparse.Namespace) -> int:
    """Run the chosen handler; a failed call prints `mtor admin: CODE: message` and exits 1."""
    from mtor_client import MtorError
    from mtor_client.admin import AdminClient

    try:
        with AdminClient(args.realm, token=args.token, tls=client_tls(args)) as admin:
            return args.handler(admin, args)
    except MtorError as e:
        print(f"mtor admin: {e}{_hint(e, args.realm)}", file=sys.stderr)
        return 1
