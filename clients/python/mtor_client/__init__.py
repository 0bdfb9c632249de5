"""Python client for MTOR realms: typed results over the mtor.v1 gRPC API.

    from mtor_client import Client

    with Client() as realm:            # $MTOR_REALM or 127.0.0.1:7070
        print(realm.chat("Why is the sky blue?").text)

AsyncClient has the same methods for asyncio. Failures raise MtorError
subclasses (NotFound, Unavailable, ...), never gRPC exceptions.

TLS: `Client("grpcs://host:7070")` trusts the system's roots;
`Client(target, tls=TLS.from_files(ca="ca.pem"))` a CA of your own (add
cert= and key= for a realm that requires mutual TLS). AdminClient and
AsyncClient take the same `tls`.
"""

from mtor_client._async import AsyncClient
from mtor_client._channel import TLS
from mtor_client._stream import AsyncChatStream, ChatStream
from mtor_client._sync import Client
from mtor_client.account import KindUsage, QuotaStatus, UsageReport
from mtor_client.errors import (
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    MtorError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    error_from_rpc,
    error_from_status,
)
from mtor_client.types import (
    Accepted,
    AudioResult,
    ChatMessage,
    ConversationResult,
    Delta,
    EmbeddingsResult,
    Event,
    Failed,
    Finished,
    ImageResult,
    IntentInfo,
    KindCapacity,
    Notice,
    Queued,
    RealmInfo,
    Result,
    Retrying,
    Started,
    TextResult,
    TranscriptResult,
    TranscriptSegment,
    Usage,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "ChatStream",
    "AsyncChatStream",
    "TLS",
    # errors
    "MtorError",
    "InvalidArgument",
    "NotFound",
    "ResourceExhausted",
    "Unavailable",
    "Cancelled",
    "DeadlineExceeded",
    "PermissionDenied",
    "Unauthenticated",
    "FailedPrecondition",
    "Internal",
    "error_from_rpc",
    "error_from_status",
    # values
    "ChatMessage",
    "ConversationResult",
    "Usage",
    "TextResult",
    "TranscriptSegment",
    "TranscriptResult",
    "AudioResult",
    "ImageResult",
    "EmbeddingsResult",
    "Result",
    "IntentInfo",
    "Notice",
    "RealmInfo",
    "KindCapacity",
    "UsageReport",
    "KindUsage",
    "QuotaStatus",
    # events
    "Accepted",
    "Queued",
    "Started",
    "Delta",
    "Retrying",
    "Finished",
    "Failed",
    "Event",
]
