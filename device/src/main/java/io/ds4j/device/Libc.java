package io.ds4j.device;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** The few libc calls the host device memory needs (memfd_create, posix_fallocate, close), through FFM. */
final class Libc
{
    /** Close the memfd in children started with exec: they are no holders of it. */
    private static final int MFD_CLOEXEC = 1;
    private static final MethodHandle MEMFD_CREATE;
    private static final MethodHandle POSIX_FALLOCATE;
    private static final MethodHandle CLOSE;
    private static final VarHandle ERRNO = Linker.Option.captureStateLayout()
        .varHandle(MemoryLayout.PathElement.groupElement("errno"));

    static
    {
        final Linker linker = Linker.nativeLinker();
        final SymbolLookup libc = linker.defaultLookup();
        MEMFD_CREATE = linker.downcallHandle(libc.find("memfd_create").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));
        POSIX_FALLOCATE = linker.downcallHandle(libc.find("posix_fallocate").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }

    private Libc()
    {
    }

    /** A new anonymous memory file of {@code size} bytes, its pages reserved; returns its fd. */
    static int memfdCreate(final String name, final long size)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            final int fd = (int) MEMFD_CREATE.invokeExact(state, arena.allocateFrom(name), MFD_CLOEXEC);
            if (fd < 0)
            {
                final int errno = (int) ERRNO.get(state, 0L);
                throw new DeviceException(io.ds4j.common.StatusCode.OUT_OF_MEMORY, "memfd_create failed: errno "
                    + errno);
            }
            // reserve the pages now: a tmpfs page that cannot be had on first touch is a SIGBUS later
            final int result = (int) POSIX_FALLOCATE.invokeExact(fd, 0L, size);
            if (result != 0)
            {
                close(fd);
                throw new DeviceException(io.ds4j.common.StatusCode.OUT_OF_MEMORY, "cannot reserve " + size
                    + " bytes of host device memory (posix_fallocate errno " + result + "); free memory or /dev/shm");
            }
            return fd;
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException("memfd_create through FFM failed", e);
        }
    }

    static void close(final int fd)
    {
        try
        {
            final int ignored = (int) CLOSE.invokeExact(fd);
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException("close through FFM failed", e);
        }
    }
}
