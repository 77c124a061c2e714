package io.ds4j.client.internal;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.CreatedRegion;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.common.protocol.ProtocolException;
import io.ds4j.common.protocol.StatusCodec;
import io.ds4j.common.protocol.ValueEntry;

import java.io.IOException;

/** One socket to the worker, used by one thread at a time for a request and its response. */
public final class Connection
{
    private final FramedChannel channel;
    private final long epoch;
    private long correlation;
    /** System.nanoTime() by which the current request must be answered, 0 while idle; watched by the link. */
    private volatile long deadlineNanos;
    private volatile boolean timedOut;
    /** Reusable decoders of reply entries, like the channel's reader: reading a reply allocates none. */
    private final ValueEntry entry = new ValueEntry();
    private final CreatedRegion region = new CreatedRegion();

    Connection(final FramedChannel channel, final long epoch)
    {
        this.channel = channel;
        this.epoch = epoch;
    }

    long epoch()
    {
        return epoch;
    }

    /** The decoder of KV_GET and OBJ_GET entries of this connection's current reply. */
    public ValueEntry entry()
    {
        return entry;
    }

    /** The decoder of KV_CREATE items and OBJ_CREATE replies of this connection's current reply. */
    public CreatedRegion region()
    {
        return region;
    }

    /** Starts a request frame. */
    public BodyWriter begin(final short type)
    {
        return channel.writer().begin(type, (short) 0, ++correlation);
    }

    /** Starts a frame the worker does not answer. */
    public BodyWriter beginNoReply(final short type)
    {
        return channel.writer().begin(type, FrameHeader.FLAG_NO_REPLY, ++correlation);
    }

    /** Sends a frame without waiting (releases, aborts). */
    public void send() throws IOException
    {
        channel.send();
    }

    /**
     * Sends the request and waits for its response; a status other than OK becomes a {@link DsException} with the
     * worker's code and message.
     */
    public BodyReader call(final long timeoutMs) throws IOException
    {
        final long expected = correlation;
        deadlineNanos = System.nanoTime() + timeoutMs * 1_000_000L;
        try
        {
            channel.send();
            final BodyReader response = channel.receive();
            if (!response.isResponse() || response.correlationId() != expected)
            {
                throw new IOException("worker answered correlation " + response.correlationId() + ", expected "
                    + expected);
            }
            StatusCodec.readStatus(response);
            channel.shrinkIfLarge();
            return response;
        }
        catch (final ProtocolException e)
        {
            // what is left in the buffer cannot be trusted: this connection is done
            channel.close();
            throw new DsException(StatusCode.RUNTIME_ERROR, "malformed response from the worker: " + e.getMessage());
        }
        catch (final IOException e)
        {
            if (timedOut)
            {
                throw new DsException(StatusCode.RPC_DEADLINE_EXCEEDED, "no answer from the worker within "
                    + timeoutMs + " ms");
            }
            throw e;
        }
        finally
        {
            deadlineNanos = 0;
        }
    }

    /** Called by the watchdog: a request past its deadline has its socket closed, which ends the blocked read. */
    void expireIfLate(final long now)
    {
        final long deadline = deadlineNanos;
        if (deadline != 0 && now - deadline > 0)
        {
            timedOut = true;
            channel.close();
        }
    }

    /** Blocks until the worker closes this connection (or sends anything, which it never does on a watch). */
    void awaitClose()
    {
        try
        {
            channel.receive();
        }
        catch (final IOException | RuntimeException e)
        {
            // closed, reset or garbled: in every case the session this connection watched is over for us
        }
        channel.close();
    }

    void maxFrameLength(final int maxFrameLength)
    {
        channel.maxFrameLength(maxFrameLength);
    }

    boolean isOpen()
    {
        return channel.socket().isOpen() && !timedOut;
    }

    void close()
    {
        channel.close();
    }
}
