package io.ds4j.worker.store.spill;

/**
 * Where one spilled object lives, as handed out by {@link SpillStore#write}. It is owned and mutated by the store:
 * compaction moves the record to another file and updates the handle in place (under the store's lock), so a
 * handle stays valid, and is the only thing a caller keeps, until {@link SpillStore#delete} is called on it.
 * The key, version and size never change and may be read from any thread.
 */
public final class SpillHandle
{
    private final String key;
    private final long version;
    private final long size;
    private final int dataOffset;
    private final int dataCrc;

    /** The file holding the record now; guarded by the store's lock. */
    SpillFile file;

    /** Offset of the record start in {@link #file}; guarded by the store's lock. */
    long recordOffset;

    private volatile boolean deleted;

    SpillHandle(final String key, final long version, final long size, final int dataOffset, final int dataCrc,
                final SpillFile file, final long recordOffset)
    {
        this.key = key;
        this.version = version;
        this.size = size;
        this.dataOffset = dataOffset;
        this.dataCrc = dataCrc;
        this.file = file;
        this.recordOffset = recordOffset;
    }

    /** The object's key. */
    public String key()
    {
        return key;
    }

    /** The object's version, as given to {@link SpillStore#write}. */
    public long version()
    {
        return version;
    }

    /** Bytes of value, what {@link SpillStore#readInto} fills. */
    public long size()
    {
        return size;
    }

    /** Whether {@link SpillStore#delete} was called on this handle (or the store was closed). */
    public boolean isDeleted()
    {
        return deleted;
    }

    int dataOffset()
    {
        return dataOffset;
    }

    int dataCrc()
    {
        return dataCrc;
    }

    /** Bytes the record takes in its file: header, key, padding and data. */
    long recordLength()
    {
        return dataOffset + size;
    }

    void markDeleted()
    {
        deleted = true;
    }

    @Override
    public String toString()
    {
        return "SpillHandle[" + key + " v" + version + ", " + size + " B" + (deleted ? ", deleted]" : "]");
    }
}
