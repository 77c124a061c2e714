package io.ds4j.common.protocol;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code HELLO} (docs/protocol.md 5.1): the first frame of every connection and its reply. Once per connection, so
 * both directions decode into records.
 */
public final class HelloCodec
{
    /** The HELLO reply names at most this many segments. */
    public static final int MAX_SEGMENTS = 1024;
    /** The least bytes a segment takes: index, path length, size. */
    private static final int MIN_SEGMENT_BYTES = 16;

    private HelloCodec()
    {
    }

    /** What a client says about itself. */
    public record Request(long pid, long processStartMs, long clientId, boolean wantsSharedMemory)
    {
    }

    /** One segment file of the worker's pool. */
    public record Segment(int index, String path, long size)
    {
    }

    /** What the worker answers: the session, its own settings, and the pool's files. */
    public record Reply(long clientId, long generation, long workerPid, String workerAddress, String unixSocketPath,
        int inlineThreshold, int heartbeatIntervalMs, int clientDeadTimeoutS, int clientReconnectWaitS,
        int maxFrameLength, boolean sharedMemory, List<Segment> segments)
    {
    }

    /** The request body; the protocol version comes first, and is this library's {@link MessageType#PROTOCOL_VERSION}. */
    public static void writeRequest(final BodyWriter out, final Request request)
    {
        out.putInt(MessageType.PROTOCOL_VERSION).putLong(request.pid()).putLong(request.processStartMs())
            .putLong(request.clientId()).putBoolean(request.wantsSharedMemory());
    }

    /**
     * Reads a request. The version is read and compared before anything else, so a HELLO of any other layout gets
     * status 28, whatever the rest of its body holds.
     *
     * @throws DsException CLIENT_WORKER_VERSION_MISMATCH for another protocol version
     */
    public static Request readRequest(final BodyReader in)
    {
        final int version = in.getInt();
        if (version != MessageType.PROTOCOL_VERSION)
        {
            throw new DsException(StatusCode.CLIENT_WORKER_VERSION_MISMATCH, "client speaks protocol " + version
                + ", this worker speaks " + MessageType.PROTOCOL_VERSION + "; use a matching ds4j client");
        }
        return new Request(in.getLong(), in.getLong(), in.getLong(), in.getBoolean());
    }

    public static void writeReply(final BodyWriter out, final Reply reply)
    {
        out.putLong(reply.clientId()).putLong(reply.generation()).putLong(reply.workerPid())
            .putString(reply.workerAddress()).putString(reply.unixSocketPath()).putInt(reply.inlineThreshold())
            .putInt(reply.heartbeatIntervalMs()).putInt(reply.clientDeadTimeoutS()).putInt(reply.clientReconnectWaitS())
            .putInt(reply.maxFrameLength()).putBoolean(reply.sharedMemory()).putInt(reply.segments().size());
        for (final Segment segment : reply.segments())
        {
            out.putInt(segment.index()).putString(segment.path()).putLong(segment.size());
        }
    }

    /** @throws ProtocolException for a field beyond the frame, or more than {@link #MAX_SEGMENTS} segments */
    public static Reply readReply(final BodyReader in)
    {
        final long clientId = in.getLong();
        final long generation = in.getLong();
        final long workerPid = in.getLong();
        final String workerAddress = in.getString();
        final String unixSocketPath = in.getString();
        final int inlineThreshold = in.getInt();
        final int heartbeatIntervalMs = in.getInt();
        final int clientDeadTimeoutS = in.getInt();
        final int clientReconnectWaitS = in.getInt();
        final int maxFrameLength = in.getInt();
        final boolean sharedMemory = in.getBoolean();
        final int count = in.getCount(MIN_SEGMENT_BYTES, MAX_SEGMENTS);
        final List<Segment> segments = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            segments.add(new Segment(in.getInt(), in.getString(), in.getLong()));
        }
        return new Reply(clientId, generation, workerPid, workerAddress, unixSocketPath, inlineThreshold,
            heartbeatIntervalMs, clientDeadTimeoutS, clientReconnectWaitS, maxFrameLength, sharedMemory, segments);
    }
}
