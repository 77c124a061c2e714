package io.ds4j.common.protocol.peer;

/**
 * Message types of the worker-to-worker link (docs/protocol.md, section 13). Same framing as the client protocol,
 * on the same TCP port: a connection whose first frame is {@link #PEER_HELLO} is a peer link, and on it only these
 * types are accepted.
 */
public final class PeerMessageType
{
    /** Bumped whenever a peer body changes incompatibly; PEER_HELLO carries it. */
    public static final int PEER_PROTOCOL_VERSION = 2;

    public static final short PEER_HELLO = 100;
    /** To a key's owner: a writer registers a new version. */
    public static final short OWNER_PUBLISH = 101;
    /** To a key's owner: the current versions of keys, waiting up to a subscribe timeout. */
    public static final short OWNER_QUERY = 102;
    public static final short OWNER_ADD_COPY = 103;
    public static final short OWNER_REMOVE_COPY = 104;
    public static final short OWNER_DELETE = 105;
    public static final short OWNER_DROPPED = 106;
    public static final short OWNER_EXPIRE = 107;
    public static final short OWNER_EXISTS = 108;
    /** To a key's owner: change one holder's global references. */
    public static final short OWNER_REF = 109;
    /** To a key's owner: the key's global reference count. */
    public static final short OWNER_REF_COUNT = 112;
    /**
     * To a key's new owner: what another worker knows of keys that moved to it (a holder's copies after a ring change
     * or the owner's restart, or the records of ranges the old owner handed over).
     */
    public static final short OWNER_ADOPT = 113;
    /**
     * To every worker, no reply body: the sender has sent its {@link #OWNER_ADOPT}s for one ring (or for the
     * receiver's restart). A new owner waits for these before it answers for the keys it took over.
     */
    public static final short RECONCILED = 114;
    /** From an owner to a holder: versions up to one are no longer current. */
    public static final short HOLDER_RETIRE = 110;
    /** From an owner to a holder: a key's TTL changed. */
    public static final short HOLDER_EXPIRY = 111;
    /** From an owner to a holder: its replica of a version is now the key's primary copy. */
    public static final short HOLDER_PROMOTE = 115;
    /**
     * From a worker on a lossless exit to another: take replicas of these versions, which the sender holds as
     * primary and is about to give up; the owners then promote them.
     */
    public static final short MIGRATE_DATA = 116;
    /**
     * To any worker: how etcd looks from there, for the asker ({@code MembershipCheckCodec}). A worker whose lease may
     * have lapsed asks, to tell an etcd outage (no one reaches etcd) from its own loss of membership.
     */
    public static final short PEER_MEMBERSHIP = 117;
    /** To a primary: the bytes of a version, sent after the reply frame. */
    public static final short FETCH = 120;
    /**
     * From a puller, no reply: all bytes of the FETCH with this frame's correlation id arrived. Until then the primary
     * keeps the value pinned, because sendfile leaves the kernel referencing the value's pages after it returns.
     */
    public static final short FETCH_RECEIVED = 121;
    /**
     * To a key's owner: its current version, with the bytes after the reply when the owner is also the primary (a
     * get's one round trip in the common case, where the writer's worker owns the key).
     */
    public static final short OWNER_FETCH = 122;

    private PeerMessageType()
    {
    }

    public static boolean isPeerType(final int type)
    {
        return type >= PEER_HELLO && type <= OWNER_FETCH;
    }

    public static String name(final int type)
    {
        return switch (type)
        {
            case PEER_HELLO -> "PEER_HELLO";
            case OWNER_PUBLISH -> "OWNER_PUBLISH";
            case OWNER_QUERY -> "OWNER_QUERY";
            case OWNER_ADD_COPY -> "OWNER_ADD_COPY";
            case OWNER_REMOVE_COPY -> "OWNER_REMOVE_COPY";
            case OWNER_DELETE -> "OWNER_DELETE";
            case OWNER_DROPPED -> "OWNER_DROPPED";
            case OWNER_EXPIRE -> "OWNER_EXPIRE";
            case OWNER_EXISTS -> "OWNER_EXISTS";
            case OWNER_REF -> "OWNER_REF";
            case OWNER_REF_COUNT -> "OWNER_REF_COUNT";
            case OWNER_ADOPT -> "OWNER_ADOPT";
            case RECONCILED -> "RECONCILED";
            case HOLDER_RETIRE -> "HOLDER_RETIRE";
            case HOLDER_EXPIRY -> "HOLDER_EXPIRY";
            case HOLDER_PROMOTE -> "HOLDER_PROMOTE";
            case MIGRATE_DATA -> "MIGRATE_DATA";
            case PEER_MEMBERSHIP -> "PEER_MEMBERSHIP";
            case FETCH -> "FETCH";
            case FETCH_RECEIVED -> "FETCH_RECEIVED";
            case OWNER_FETCH -> "OWNER_FETCH";
            default -> "UNKNOWN(" + type + ")";
        };
    }
}
