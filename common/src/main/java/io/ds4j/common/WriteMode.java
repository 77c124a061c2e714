package io.ds4j.common;

/** Where a value is kept, with the upstream's numbers (object_enum.h). */
public enum WriteMode
{
    /** Cache only; never dropped: when space is short one copy is kept (spilled) and new writes fail. */
    NONE_L2_CACHE(0),
    /** Written to the second level before the set returns. */
    WRITE_THROUGH_L2_CACHE(1),
    /** Written to the second level asynchronously. */
    WRITE_BACK_L2_CACHE(2),
    /** Volatile: may be evicted under memory pressure, and is then gone. */
    NONE_L2_CACHE_EVICT(3),
    /** Asynchronous second-level write; evictable once the second level has it. */
    WRITE_BACK_L2_CACHE_EVICT(4);

    private static final WriteMode[] VALUES = values();
    private final int value;

    WriteMode(final int value)
    {
        this.value = value;
    }

    public int value()
    {
        return value;
    }

    public static WriteMode of(final int value)
    {
        if (value < 0 || value >= VALUES.length)
        {
            throw new DsException(StatusCode.INVALID, "unknown write mode " + value + ", expected 0..4");
        }
        return VALUES[value];
    }
}
