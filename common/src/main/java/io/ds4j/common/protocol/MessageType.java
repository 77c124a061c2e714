package io.ds4j.common.protocol;

/**
 * Message types of the client-worker protocol. The body of each is specified in docs/protocol.md and encoded and
 * decoded by one codec class of this package, named in its section (e.g. {@link KvGetCodec} for {@link #KV_GET}).
 */
public final class MessageType
{
    public static final short HELLO = 1;
    public static final short HEARTBEAT = 2;
    /** A client closing cleanly: its session ends now and everything it held is given back. */
    public static final short BYE = 3;

    public static final short KV_SET = 10;
    public static final short KV_CREATE = 11;
    public static final short KV_PUBLISH = 12;
    public static final short KV_ABORT = 13;

    public static final short KV_GET = 20;
    public static final short RELEASE = 21;

    public static final short KV_DELETE = 30;
    public static final short KV_EXIST = 31;
    public static final short KV_EXPIRE = 32;

    /** Object interface (docs/protocol.md, section 5.13 on): a region for an object, filled in place. */
    public static final short OBJ_CREATE = 40;
    /** First publish of a created region, or a republish (version bump) of an object this client holds. */
    public static final short OBJ_PUBLISH = 41;
    /** An object sent inline: put, or the publish of a buffer over TCP. */
    public static final short OBJ_PUT = 42;
    public static final short OBJ_GET = 43;
    public static final short OBJ_INC_REF = 44;
    public static final short OBJ_DEC_REF = 45;
    public static final short OBJ_QUERY_REF = 46;
    public static final short OBJ_RELEASE_REFS = 47;

    /** A client took a latch in an object header (no reply): the worker undoes it if the client dies. */
    public static final short LATCH_HELD = 50;
    /** A client gave a latch back (no reply). */
    public static final short LATCH_RELEASED = 51;

    /** Device objects (docs/protocol.md, section 5.22 on): the bytes stay on the producer's device. */
    public static final short DEV_MSET = 60;
    public static final short DEV_MGET = 61;
    public static final short DEV_DELETE = 62;
    /** A publisher waits until its one-shot device objects were received. */
    public static final short DEV_AWAIT = 63;
    /** A reader asks for device objects it cannot open to be copied into host objects (another host). */
    public static final short DEV_STAGE = 64;
    /** A producer's client waits for such requests for its objects. */
    public static final short DEV_SERVE = 65;

    /** Bumped whenever a body changes incompatibly; HELLO carries it and the worker refuses another. */
    public static final int PROTOCOL_VERSION = 1;

    private MessageType()
    {
    }

    public static String name(final int type)
    {
        return switch (type)
        {
            case HELLO -> "HELLO";
            case HEARTBEAT -> "HEARTBEAT";
            case BYE -> "BYE";
            case KV_SET -> "KV_SET";
            case KV_CREATE -> "KV_CREATE";
            case KV_PUBLISH -> "KV_PUBLISH";
            case KV_ABORT -> "KV_ABORT";
            case KV_GET -> "KV_GET";
            case RELEASE -> "RELEASE";
            case KV_DELETE -> "KV_DELETE";
            case KV_EXIST -> "KV_EXIST";
            case KV_EXPIRE -> "KV_EXPIRE";
            case OBJ_CREATE -> "OBJ_CREATE";
            case OBJ_PUBLISH -> "OBJ_PUBLISH";
            case OBJ_PUT -> "OBJ_PUT";
            case OBJ_GET -> "OBJ_GET";
            case OBJ_INC_REF -> "OBJ_INC_REF";
            case OBJ_DEC_REF -> "OBJ_DEC_REF";
            case OBJ_QUERY_REF -> "OBJ_QUERY_REF";
            case OBJ_RELEASE_REFS -> "OBJ_RELEASE_REFS";
            case LATCH_HELD -> "LATCH_HELD";
            case LATCH_RELEASED -> "LATCH_RELEASED";
            case DEV_MSET -> "DEV_MSET";
            case DEV_MGET -> "DEV_MGET";
            case DEV_DELETE -> "DEV_DELETE";
            case DEV_AWAIT -> "DEV_AWAIT";
            case DEV_STAGE -> "DEV_STAGE";
            case DEV_SERVE -> "DEV_SERVE";
            default -> "UNKNOWN(" + type + ")";
        };
    }
}
