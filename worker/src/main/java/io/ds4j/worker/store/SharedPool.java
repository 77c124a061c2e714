package io.ds4j.worker.store;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.common.shm.SegmentFiles;
import io.ds4j.common.shm.SegmentHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The worker's shared-memory pool: one segment file under /dev/shm, mapped by the worker and by every local
 * client, and the one allocator over its data region. Only the worker allocates and frees; clients only read and
 * fill regions the worker handed them. Segment names carry the worker's generation, so a restarted worker never
 * reuses a name that an old client may still have mapped.
 */
public final class SharedPool implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(SharedPool.class);

    private final Path path;
    private final long generation;
    private final Arena arena;
    private final MemorySegment segment;
    private final PoolAllocator allocator;
    private final AtomicLong allocationIds = new AtomicLong();
    private final long dataOffset;
    private final long dataSize;
    private long objectCount;

    private SharedPool(final Path path, final long generation, final Arena arena, final MemorySegment segment,
        final int alignment)
    {
        this.path = path;
        this.arena = arena;
        this.generation = generation;
        this.segment = segment;
        this.dataOffset = SegmentHeader.LENGTH;
        this.dataSize = segment.byteSize() - SegmentHeader.LENGTH;
        this.allocator = new PoolAllocator(dataSize, alignment);
    }

    /**
     * Creates the segment file {@code dir/<namePrefix><generation>-0}, reserves and maps it, and writes its header.
     * Stale files of this worker address whose owner process is gone are removed first.
     */
    public static SharedPool create(final Path dir, final String namePrefix, final long sizeBytes, final int alignment,
        final boolean reserve, final boolean populate, final long generation) throws IOException
    {
        removeStaleSegments(dir, namePrefix);
        final Path path = dir.resolve(namePrefix + Long.toHexString(generation) + "-0");
        final long fileSize = SegmentHeader.LENGTH + sizeBytes;
        final Arena arena = Arena.ofShared();
        final MemorySegment segment;
        try
        {
            segment = SegmentFiles.create(path, fileSize, arena, reserve);
        }
        catch (final IOException e)
        {
            arena.close();
            Files.deleteIfExists(path);
            throw e;
        }
        final SharedPool pool = new SharedPool(path, generation, arena, segment, alignment);
        if (populate)
        {
            segment.load();
        }
        SegmentHeader.write(segment, 0, generation, ProcessHandle.current().pid(), System.currentTimeMillis());
        LOG.info("shared-memory pool {} ({} MiB) mapped, generation {}", path, sizeBytes >> 20,
            Long.toHexString(generation));
        return pool;
    }

    private static void removeStaleSegments(final Path dir, final String namePrefix)
    {
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(dir, namePrefix + "*"))
        {
            for (final Path file : stale)
            {
                final long pid = ownerPid(file);
                if (pid == UNREADABLE)
                {
                    LOG.warn("cannot read {}; leaving it (remove it by hand if no worker uses it)", file);
                    continue;
                }
                if (pid == NO_HEADER || !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                {
                    Files.deleteIfExists(file);
                    LOG.info("removed stale segment {} of dead worker pid {}", file, pid);
                }
            }
        }
        catch (final IOException e)
        {
            LOG.warn("could not scan {} for stale segments: {}", dir, e.toString());
        }
    }

    private static final long NO_HEADER = Long.MIN_VALUE;
    private static final long UNREADABLE = Long.MIN_VALUE + 1;

    /** The pid in a segment file's header; NO_HEADER for a file cut short before its header was written. */
    private static long ownerPid(final Path file)
    {
        try (Arena scan = Arena.ofConfined())
        {
            if (Files.size(file) < SegmentHeader.LENGTH)
            {
                return NO_HEADER;
            }
            final MemorySegment header = SegmentFiles.map(file, scan);
            return SegmentHeader.magic(header) == SegmentHeader.MAGIC ? SegmentHeader.workerPid(header) : NO_HEADER;
        }
        catch (final IOException | RuntimeException e)
        {
            return UNREADABLE;
        }
    }

    /** The start of every segment file name of the worker at {@code host:port}: {@code ds4j-<host>_<port>-}. */
    public static String namePrefix(final String host, final int port)
    {
        return "ds4j-" + host + "_" + port + "-";
    }

    /**
     * Removes the segment files of the worker at {@code host:port} whose owner process is gone (a killed worker's
     * pool stays in tmpfs, i.e. in memory, until someone removes it); the next worker on that address does this too.
     */
    public static void removeStaleSegments(final Path dir, final String host, final int port)
    {
        removeStaleSegments(dir, namePrefix(host, port));
    }

    public Path path()
    {
        return path;
    }

    public long generation()
    {
        return generation;
    }

    public MemorySegment segment()
    {
        return segment;
    }

    public long capacity()
    {
        return dataSize;
    }

    public synchronized long used()
    {
        return allocator.used();
    }

    public synchronized long objectCount()
    {
        return objectCount;
    }

    /**
     * Allocates room for a value of {@code dataSize} bytes and writes its header in the WRITING state.
     *
     * @throws DsException OUT_OF_MEMORY when no free run is large enough
     */
    public StoredObject allocate(final long dataSize, final long version)
    {
        final long allocatedSize = ObjectHeader.LENGTH + dataSize;
        final long offset;
        synchronized (this)
        {
            offset = allocator.allocate(allocatedSize);
            if (offset >= 0)
            {
                objectCount++;
            }
        }
        if (offset < 0)
        {
            throw outOfMemory(dataSize);
        }
        final long allocationId = allocationIds.incrementAndGet();
        final long headerOffset = dataOffset + offset;
        ObjectHeader.init(segment, headerOffset, allocationId, dataSize, version);
        return new StoredObject(this, headerOffset, dataSize);
    }

    private DsException outOfMemory(final long dataSize)
    {
        if (ObjectHeader.LENGTH + dataSize > dataSize())
        {
            return new DsException(StatusCode.OUT_OF_MEMORY, "a value of " + dataSize + " bytes is larger than the"
                + " worker's whole pool (" + dataSize() + " bytes); raise --shared_memory_size_mb");
        }
        final long used;
        final long largest;
        synchronized (this)
        {
            used = allocator.used();
            largest = allocator.largestFreeRun();
        }
        return new DsException(StatusCode.OUT_OF_MEMORY, "shared-memory pool is full: " + dataSize
            + " bytes requested, " + used + " of " + dataSize() + " bytes in use, largest free run " + largest
            + " bytes; delete keys, set a TTL, or raise --shared_memory_size_mb");
    }

    private long dataSize()
    {
        return dataSize;
    }

    void free(final StoredObject object)
    {
        synchronized (this)
        {
            allocator.free(object.headerOffset() - dataOffset, object.allocatedSize());
            objectCount--;
        }
    }

    /** Written every heartbeat so that clients (and tools) can see the worker is alive. */
    public void heartbeat()
    {
        SegmentHeader.heartbeat(segment, System.currentTimeMillis());
    }

    @Override
    public void close()
    {
        SegmentHeader.state(segment, SegmentHeader.STATE_CLOSED);
        try
        {
            Files.deleteIfExists(path);
        }
        catch (final IOException e)
        {
            LOG.warn("could not remove {}: {}", path, e.toString());
        }
        arena.close();
    }
}
