package io.ds4j.worker.store.spill;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * One file of the spill store: a pack file of small records or the own file of one large record. Plain mutable
 * state, every field guarded by the owning {@link SpillStore}'s lock; the store does the I/O on {@link #channel}
 * outside the lock while the file is pinned.
 */
final class SpillFile
{
    final long id;
    final Path path;
    final boolean pack;

    /** Open channel, or null (or closed, after an interrupt) when it must be (re)opened before use. */
    FileChannel channel;

    /** Bytes of the file: the end of the last reserved record. What the file counts in {@code usedBytes}. */
    long end;

    /** Bytes of records with a live handle. */
    long live;

    /** Records with a live handle; equals {@code handles.size()}. */
    final Set<SpillHandle> handles = new HashSet<>();

    /** Reserved regions whose write (or compaction copy) has not finished. */
    int pending;

    /** Operations doing I/O on the channel now (reads, writes, compaction); the file is not closed while pinned. */
    int pins;

    /** Removed from the store; deleted from disk once {@link #pins} drops to zero. */
    boolean retired;

    /** Being compacted; not picked again. */
    boolean compacting;

    SpillFile(final long id, final Path path, final boolean pack)
    {
        this.id = id;
        this.path = path;
        this.pack = pack;
    }

    int records()
    {
        return handles.size();
    }

    @Override
    public String toString()
    {
        return path.getFileName() + "[end=" + end + ", live=" + live + ", records=" + handles.size() + "]";
    }
}
