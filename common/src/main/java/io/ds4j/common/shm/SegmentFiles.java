package io.ds4j.common.shm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Creating and mapping pool segment files. The worker reserves every page with {@code posix_fallocate} so that a
 * tmpfs too small for the pool fails at start with ENOSPC instead of killing a process with SIGBUS on first touch;
 * clients map the same file by name (the JDK cannot pass file descriptors over a Unix socket).
 */
public final class SegmentFiles
{
    private static final int ENOSPC = 28;
    private static final MethodHandle OPEN;
    private static final MethodHandle POSIX_FALLOCATE;
    private static final MethodHandle CLOSE;
    private static final MethodHandle ERRNO_LOCATION;

    static
    {
        final Linker linker = Linker.nativeLinker();
        final SymbolLookup libc = linker.defaultLookup();
        OPEN = linker.downcallHandle(libc.find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.firstVariadicArg(2));
        POSIX_FALLOCATE = linker.downcallHandle(libc.find("posix_fallocate").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        ERRNO_LOCATION = linker.downcallHandle(libc.find("__errno_location").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS));
    }

    private static final int O_RDWR = 2;
    /** Owner and group (the worker's user and its clients) read and write; nobody else sees the values. */
    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> SEGMENT_MODE =
        PosixFilePermissions.fromString("rw-rw----");

    private SegmentFiles()
    {
    }

    /** Why a reservation failed: the errno of posix_fallocate, with ENOSPC meaning the filesystem is too small. */
    public static final class ReservationException extends IOException
    {
        private final int errno;

        ReservationException(final String message, final int errno)
        {
            super(message);
            this.errno = errno;
        }

        public int errno()
        {
            return errno;
        }

        public boolean noSpace()
        {
            return errno == ENOSPC;
        }
    }

    /**
     * Creates {@code path} with mode 0660, reserves {@code size} bytes (when {@code reserve}) and maps it read-write
     * in {@code arena}.
     */
    public static MemorySegment create(final Path path, final long size, final Arena arena, final boolean reserve)
        throws IOException
    {
        Files.deleteIfExists(path);
        Files.createFile(path, PosixFilePermissions.asFileAttribute(SEGMENT_MODE));
        // the creating process's umask may have masked the group bits: clients of the worker's group map it too
        Files.setPosixFilePermissions(path, SEGMENT_MODE);
        if (reserve)
        {
            fallocate(path, size);
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            if (!reserve)
            {
                channel.truncate(0);
                channel.write(java.nio.ByteBuffer.allocate(1), size - 1);
            }
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        }
    }

    /** Maps an existing segment file read-write (clients fill buffers in place). */
    public static MemorySegment map(final Path path, final Arena arena) throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size(), arena);
        }
    }

    @SuppressWarnings("restricted")
    private static void fallocate(final Path path, final long size) throws IOException
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment name = arena.allocateFrom(path.toString());
            final int fd = (int) OPEN.invokeExact(name, O_RDWR, 0);
            if (fd < 0)
            {
                throw new IOException("cannot open " + path + " to reserve it (errno " + errno() + ")");
            }
            try
            {
                final int result = (int) POSIX_FALLOCATE.invokeExact(fd, 0L, size);
                if (result != 0)
                {
                    throw new ReservationException("cannot reserve " + size + " bytes for " + path + ": "
                        + (result == ENOSPC ? "no space left on " + path.getParent() : "errno " + result), result);
                }
            }
            finally
            {
                final int ignored = (int) CLOSE.invokeExact(fd);
            }
        }
        catch (final IOException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IOException("posix_fallocate through FFM failed: " + e, e);
        }
    }

    @SuppressWarnings("restricted")
    private static int errno() throws Throwable
    {
        final MemorySegment location = (MemorySegment) ERRNO_LOCATION.invokeExact();
        return location.reinterpret(4).get(ValueLayout.JAVA_INT, 0);
    }
}
