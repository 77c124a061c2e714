package io.ds4j.common.protocol.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

/**
 * {@code RECONCILED} (docs/protocol.md 13.8). Request: the sender's address (string), the {@link io.ds4j.common.ring.HashRing#fingerprint()
 * fingerprint} of the ring the sender reconciled to (long), and the start time of the receiver it saw in etcd, in
 * epoch ms (long; 0 when the message answers a ring change only). Empty reply.
 */
public final class ReconciledCodec
{
    /** A decoded request. */
    public record Request(String sender, long ringFingerprint, long receiverStartedAtMs)
    {
    }

    private ReconciledCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String sender, final long ringFingerprint,
        final long receiverStartedAtMs)
    {
        out.putString(sender).putLong(ringFingerprint).putLong(receiverStartedAtMs);
    }

    public static Request readRequest(final BodyReader in)
    {
        return new Request(in.getString(), in.getLong(), in.getLong());
    }
}
