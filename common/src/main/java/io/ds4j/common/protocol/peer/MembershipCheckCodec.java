package io.ds4j.common.protocol.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

/**
 * {@code PEER_MEMBERSHIP} (docs/protocol.md 13.11): a worker whose lease may have lapsed asks a peer how etcd looks
 * from there. Request: the asker's address (string). Reply: one byte, a {@link View} ordinal.
 */
public final class MembershipCheckCodec
{
    /** What the peer sees. */
    public enum View
    {
        /** The peer does not reach etcd either (its own lease not renewed within its last three heartbeats). */
        NO_ETCD,
        /** The peer reaches etcd and the asker's membership row is there: the asker is still a member. */
        MEMBER,
        /** The peer reaches etcd and the asker's row is gone: its lease expired, the cluster goes on without it. */
        GONE
    }

    private MembershipCheckCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String asker)
    {
        out.putString(asker);
    }

    public static String readRequest(final BodyReader in)
    {
        return in.getString();
    }

    public static void writeReply(final BodyWriter out, final View view)
    {
        out.putByte((byte) view.ordinal());
    }

    public static View readReply(final BodyReader in)
    {
        final int ordinal = in.getByte();
        if (ordinal < 0 || ordinal >= View.values().length)
        {
            throw new ProtocolException("unknown membership view " + ordinal);
        }
        return View.values()[ordinal];
    }
}
