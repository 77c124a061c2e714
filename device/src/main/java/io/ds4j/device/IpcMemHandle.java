package io.ds4j.device;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * An IPC memory handle: {@link #LENGTH} opaque bytes (a {@code cudaIpcMemHandle_t}, or a {@link HostIpcHandle}) and
 * the offset of the pointer asked for inside the allocation the handle opens. It travels in DEV_MSET and DEV_MGET
 * (docs/protocol.md) and means something only on the host that made it.
 */
public record IpcMemHandle(byte[] bytes, long offset)
{
    /** The size of {@code cudaIpcMemHandle_t} (CUDA_IPC_HANDLE_SIZE); the host implementation uses the same. */
    public static final int LENGTH = 64;

    public IpcMemHandle
    {
        if (bytes.length != LENGTH)
        {
            throw new IllegalArgumentException("an IPC handle has " + LENGTH + " bytes, not " + bytes.length);
        }
        if (offset < 0)
        {
            throw new IllegalArgumentException("negative offset " + offset);
        }
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof IpcMemHandle that && offset == that.offset && Arrays.equals(bytes, that.bytes);
    }

    @Override
    public int hashCode()
    {
        return 31 * Arrays.hashCode(bytes) + Long.hashCode(offset);
    }

    /** Never the whole handle: a handle opens memory, so logs get a prefix only. */
    @Override
    public String toString()
    {
        return "IpcMemHandle[" + HexFormat.of().formatHex(bytes, 0, 8) + "..., offset=" + offset + "]";
    }
}
