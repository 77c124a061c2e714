package io.ds4j.common.protocol;

import java.util.List;

/**
 * What the worker records of one device object (docs/protocol.md, section 5.22): who holds the bytes and how another
 * process opens them. The bytes stay in the producer's device memory; this is only their address. Written by
 * {@link DevMsetCodec} (client to worker) and {@link DevMgetCodec} (worker to client), read and written only here.
 *
 * <pre>
 * string  host id of the producer (boot id: IPC handles open only on the host that made them)
 * int64   producer pid
 * int32   device index
 * int32   blob count (1..MAX_BLOBS), then per blob:
 *   64    IPC handle bytes (cudaIpcMemHandle_t, or the host implementation's handle)
 *   int64 offset of the blob in the allocation the handle opens
 *   int64 the blob's device pointer in the producer (used when the reader is the producer's own process)
 *   int64 size in bytes
 * </pre>
 * The producer's client id is not on the wire from the client: the worker takes it from the session.
 */
public record DeviceObjectDescriptor(String hostId, long producerPid, int device, List<Blob> blobs)
{
    /** The handle size (CUDA_IPC_HANDLE_SIZE). */
    public static final int HANDLE_LENGTH = 64;
    /** Fragments per key: more than any KV-cache layout needs, few enough to bound a request. */
    public static final int MAX_BLOBS = 65_536;
    private static final int BLOB_BYTES = HANDLE_LENGTH + 24;

    /** One device fragment: where it is and how big. */
    public record Blob(byte[] handle, long offset, long devPtr, long size)
    {
        public Blob
        {
            if (handle.length != HANDLE_LENGTH)
            {
                throw new IllegalArgumentException("an IPC handle has " + HANDLE_LENGTH + " bytes");
            }
        }
    }

    public DeviceObjectDescriptor
    {
        blobs = List.copyOf(blobs);
    }

    public long totalSize()
    {
        long total = 0;
        for (final Blob blob : blobs)
        {
            total += blob.size();
        }
        return total;
    }

    public void write(final BodyWriter out)
    {
        out.putString(hostId).putLong(producerPid).putInt(device).putInt(blobs.size());
        for (final Blob blob : blobs)
        {
            out.ensure(BLOB_BYTES);
            for (final byte b : blob.handle())
            {
                out.putByte(b);
            }
            out.putLong(blob.offset()).putLong(blob.devPtr()).putLong(blob.size());
        }
    }

    /** @throws ProtocolException for a blob count outside 1..MAX_BLOBS, a negative size, or a short frame */
    public static DeviceObjectDescriptor read(final BodyReader in)
    {
        final String hostId = in.getString();
        final long pid = in.getLong();
        final int device = in.getInt();
        final int count = in.getCount(BLOB_BYTES, MAX_BLOBS);
        if (hostId == null || count == 0)
        {
            throw new ProtocolException("a device object needs a host id and at least one blob");
        }
        final Blob[] blobs = new Blob[count];
        for (int i = 0; i < count; i++)
        {
            final byte[] handle = new byte[HANDLE_LENGTH];
            for (int b = 0; b < HANDLE_LENGTH; b++)
            {
                handle[b] = (byte) in.getByte();
            }
            final long offset = in.getLong();
            final long devPtr = in.getLong();
            final long size = in.getLong();
            if (offset < 0 || size < 0)
            {
                throw new ProtocolException("a device blob has a negative offset or size");
            }
            blobs[i] = new Blob(handle, offset, devPtr, size);
        }
        return new DeviceObjectDescriptor(hostId, pid, device, List.of(blobs));
    }
}
