package io.ds4j.common.protocol.peer;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

/**
 * {@code PEER_HELLO} (docs/protocol.md 13.1). Request: the peer protocol version (int), the caller's worker address
 * (string). Reply: the answering worker's address (string), so a caller that dialled a stale address notices.
 */
public final class PeerHelloCodec
{
    private PeerHelloCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String caller)
    {
        out.putInt(PeerMessageType.PEER_PROTOCOL_VERSION).putString(caller);
    }

    /**
     * @return the caller's address
     * @throws DsException CLIENT_WORKER_VERSION_MISMATCH for another protocol version
     */
    public static String readRequest(final BodyReader in)
    {
        final int version = in.getInt();
        if (version != PeerMessageType.PEER_PROTOCOL_VERSION)
        {
            throw new DsException(StatusCode.CLIENT_WORKER_VERSION_MISMATCH, "peer speaks peer protocol " + version
                + ", this worker " + PeerMessageType.PEER_PROTOCOL_VERSION + "; run one ds4j version in a cluster");
        }
        return in.getString();
    }

    public static void writeReply(final BodyWriter out, final String self)
    {
        out.putString(self);
    }

    public static String readReply(final BodyReader in)
    {
        return in.getString();
    }
}
