package io.ds4j.common.protocol;

import io.ds4j.common.StatusCode;

import java.util.List;

/**
 * {@code DEV_MGET} (docs/protocol.md 5.24): where the bytes of device objects are. Request: a flags byte
 * ({@link #SUBSCRIBE}: a {@code devSubscribe}, only one-shot objects answer), the sub timeout in ms (int64: wait up
 * to that long for keys not registered yet), then a key list (1..10,000). Reply: a count, then per key an entry:
 * a found byte; when 1 the producer's client id (int64) and its {@link DeviceObjectDescriptor}, when 0 a status code
 * (int32: NOT_FOUND, or CLIENT_WORKER_DISCONNECT when the producer's session ended) and a message.
 */
public final class DevMgetCodec
{
    public static final int SUBSCRIBE = 1;
    private static final int MIN_ENTRY_BYTES = 1;

    /** One answer: a found descriptor, or why not. */
    public record Entry(long producerClientId, DeviceObjectDescriptor descriptor, StatusCode status, String message)
    {
        public boolean found()
        {
            return descriptor != null;
        }
    }

    private DevMgetCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final int flags, final long subTimeoutMs,
        final List<String> keys)
    {
        out.putByte(flags).putLong(subTimeoutMs);
        BatchCodec.writeKeys(out, keys);
    }

    public static int readFlags(final BodyReader in)
    {
        return in.getByte();
    }

    public static long readSubTimeoutMs(final BodyReader in)
    {
        return in.getLong();
    }

    /** The keys, after the flags and the timeout. @throws io.ds4j.common.DsException INVALID for 0 or > 10,000 */
    public static void readKeys(final BodyReader in, final List<String> keys)
    {
        BatchCodec.readKeys(in, keys);
    }

    public static void writeEntryCount(final BodyWriter out, final int count)
    {
        out.putInt(count);
    }

    public static void writeFound(final BodyWriter out, final long producerClientId,
        final DeviceObjectDescriptor descriptor)
    {
        out.putBoolean(true).putLong(producerClientId);
        descriptor.write(out);
    }

    public static void writeMissing(final BodyWriter out, final StatusCode status, final String message)
    {
        out.putBoolean(false).putInt(status.value()).putString(message);
    }

    public static int readEntryCount(final BodyReader in, final int max)
    {
        return in.getCount(MIN_ENTRY_BYTES, max);
    }

    public static Entry readEntry(final BodyReader in)
    {
        if (in.getBoolean())
        {
            final long producer = in.getLong();
            return new Entry(producer, DeviceObjectDescriptor.read(in), StatusCode.OK, "");
        }
        return new Entry(0, null, StatusCode.of(in.getInt()), in.getString());
    }
}
