package io.ds4j.common.protocol;

/** Message types of the client-worker protocol; the body of each is specified in docs/protocol.md. */
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
            default -> "UNKNOWN(" + type + ")";
        };
    }
}
