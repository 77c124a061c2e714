package io.ds4j.device;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The only code that writes or reads the 64 bytes of a {@link HostDeviceMemory} IPC handle (docs/device.md, "The host
 * implementation's IPC handle"). An allocation is a memfd of the allocating process; another process opens it as
 * {@code /proc/<pid>/fd/<fd>}, so, as with CUDA, it can be opened only while its process lives, and its memory goes
 * when the last process that maps it ends.
 *
 * <pre>
 *  0  u64  magic "DS4JHIPC"
 *  8  u32  layout version (1)
 * 12  u32  fd of the memfd in the allocating process
 * 16  u64  pid of the allocating process
 * 24  u64  its start time, ms since the epoch (tells a reused pid apart), 0 when unknown
 * 32  u64  size of the allocation in bytes
 * 40  u32  device index it was allocated on
 * 44  u32  zero
 * 48  u64  nonce: random per allocation, so that equal handles are the same allocation (an fd number is reused)
 * 56  8 bytes of zeros
 * </pre>
 * Little-endian.
 */
public final class HostIpcHandle
{
    public static final long MAGIC = 0x4350_4948_4A34_5344L; // "DS4JHIPC" read as a little-endian long
    public static final int VERSION = 1;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAGIC_OFFSET = 0;
    private static final int VERSION_OFFSET = 8;
    private static final int FD_OFFSET = 12;
    private static final int PID_OFFSET = 16;
    private static final int START_OFFSET = 24;
    private static final int SIZE_OFFSET = 32;
    private static final int DEVICE_OFFSET = 40;
    private static final int NONCE_OFFSET = 48;

    /** The decoded fields. */
    public record Fields(int fd, long pid, long processStartMs, long size, int device, long nonce)
    {
    }

    private HostIpcHandle()
    {
    }

    public static byte[] encode(final Fields fields)
    {
        final byte[] bytes = new byte[IpcMemHandle.LENGTH];
        final MemorySegment out = MemorySegment.ofArray(bytes);
        out.set(LONG, MAGIC_OFFSET, MAGIC);
        out.set(INT, VERSION_OFFSET, VERSION);
        out.set(INT, FD_OFFSET, fields.fd());
        out.set(LONG, PID_OFFSET, fields.pid());
        out.set(LONG, START_OFFSET, fields.processStartMs());
        out.set(LONG, SIZE_OFFSET, fields.size());
        out.set(INT, DEVICE_OFFSET, fields.device());
        out.set(LONG, NONCE_OFFSET, fields.nonce());
        return bytes;
    }

    /** True when the bytes carry this layout's magic (a CUDA handle does not). */
    public static boolean isHostHandle(final byte[] bytes)
    {
        return bytes.length == IpcMemHandle.LENGTH && MemorySegment.ofArray(bytes).get(LONG, MAGIC_OFFSET) == MAGIC;
    }

    /** @throws DeviceException INVALID when the bytes are not a handle of this layout and version */
    public static Fields decode(final byte[] bytes)
    {
        if (!isHostHandle(bytes))
        {
            throw new DeviceException(io.ds4j.common.StatusCode.INVALID,
                "not an IPC handle of the host device memory (a CUDA handle opens only where CUDA runs)");
        }
        final MemorySegment in = MemorySegment.ofArray(bytes);
        final int version = in.get(INT, VERSION_OFFSET);
        if (version != VERSION)
        {
            throw new DeviceException(io.ds4j.common.StatusCode.INVALID, "host IPC handle of layout version "
                + version + "; this process reads version " + VERSION);
        }
        return new Fields(in.get(INT, FD_OFFSET), in.get(LONG, PID_OFFSET), in.get(LONG, START_OFFSET),
            in.get(LONG, SIZE_OFFSET), in.get(INT, DEVICE_OFFSET), in.get(LONG, NONCE_OFFSET));
    }
}
