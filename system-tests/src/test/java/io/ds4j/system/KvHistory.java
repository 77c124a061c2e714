package io.ds4j.system;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A recorded history of KV operations on many keys, by many clients, and its check as a set of registers with
 * deletes (the idea of Jepsen's register checks, not their code). Every value is unique: its first 8 bytes are its id
 * and the rest a pattern of the id, so a read names the write it saw and torn or foreign bytes are caught. All
 * clients are threads of one JVM, so System.nanoTime orders every start and end.
 *
 * <p>A read is wrong when:
 * <ul>
 *   <li>its bytes are not a value some set wrote, or that set had not started when the read ended;</li>
 *   <li>it is stale: an acknowledged set or delete of the key started after the write it saw was acknowledged
 *   and finished before the read began;</li>
 *   <li>it answers NOT_FOUND while an acknowledged set finished before it began and no delete could have come
 *   after that set, unless that value may have died with the fault (a cache-only value written through the worker
 *   that was killed).</li>
 * </ul>
 * A failed set or delete may or may not have taken effect: it counts as a write that was never acknowledged.
 */
final class KvHistory
{
    enum Kind
    {
        SET, GET, DELETE
    }

    /** One operation. {@code value}: the id set or read (0 read NOT_FOUND); {@code ok}: acknowledged / answered. */
    record Op(int client, Kind kind, String key, long value, long start, long end, boolean ok, String error)
    {
        long millis()
        {
            return (end - start) / 1_000_000;
        }
    }

    /** One violation: what kind, when the read began, and the ops involved. */
    record Violation(String kind, long readStart, String text)
    {
        static final String STALE = "stale read";
        static final String FOREIGN = "bytes no set wrote";
        static final String LOST = "NOT_FOUND after an acknowledged set";

        @Override
        public String toString()
        {
            return text;
        }
    }

    private final ConcurrentLinkedQueue<Op> ops = new ConcurrentLinkedQueue<>();

    void record(final Op op)
    {
        ops.add(op);
    }

    List<Op> ops()
    {
        return List.copyOf(ops);
    }

    static byte[] valueOf(final long id, final int size)
    {
        final byte[] value = new byte[Math.max(16, size)];
        final ByteBuffer buffer = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(0, id);
        for (int i = 8; i < value.length; i++)
        {
            value[i] = (byte) (id * 31 + i);
        }
        return value;
    }

    /** The id a value carries, or -1 when its bytes are not one {@link #valueOf} wrote. */
    static long idOf(final byte[] value)
    {
        if (value.length < 16)
        {
            return -1;
        }
        final long id = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        for (int i = 8; i < value.length; i++)
        {
            if (value[i] != (byte) (id * 31 + i))
            {
                return -1;
            }
        }
        return id;
    }

    /**
     * The violations of the history.
     *
     * @param lostWithFault whether a set's value may be lost by the fault (a cache-only value written through the
     *                      worker that was killed): a read after {@code lossFrom} (nanoTime) may then answer NOT_FOUND
     *                      when the last acknowledged set before it, or a set that started after that one, is such
     */
    List<Violation> violations(final java.util.function.Predicate<Op> lostWithFault, final long lossFrom)
    {
        final Map<String, List<Op>> writesByKey = new HashMap<>();
        final Map<Long, Op> setsById = new HashMap<>();
        for (final Op op : ops)
        {
            if (op.kind != Kind.GET)
            {
                writesByKey.computeIfAbsent(op.key, k -> new ArrayList<>()).add(op);
                if (op.kind == Kind.SET)
                {
                    setsById.put(op.value, op);
                }
            }
        }
        final List<Violation> violations = new ArrayList<>();
        for (final Op read : ops)
        {
            if (read.kind != Kind.GET || !read.ok)
            {
                continue;
            }
            final List<Op> writes = writesByKey.getOrDefault(read.key, List.of());
            if (read.value < 0)
            {
                violations.add(new Violation(Violation.FOREIGN, read.start, "read of " + read.key
                    + " returned bytes no set wrote: " + read));
                continue;
            }
            if (read.value > 0)
            {
                final Op source = setsById.get(read.value);
                if (source == null || !source.key.equals(read.key) || source.start > read.end)
                {
                    violations.add(new Violation(Violation.FOREIGN, read.start, "read of " + read.key
                        + " returned value " + read.value + " whose set " + (source == null ? "does not exist"
                        : "is of " + source.key + " or started later") + ": " + read));
                    continue;
                }
                final Op newer = overwriteBefore(writes, source.end, read.start, true);
                if (newer != null)
                {
                    violations.add(new Violation(Violation.STALE, read.start, "stale read of " + read.key + ": "
                        + read + " saw " + source + " but " + newer + " was acknowledged after it and before the read"
                        + " began"));
                }
                continue;
            }
            if (read.start > lossFrom && lostWithFault(writes, read, lostWithFault))
            {
                continue;
            }
            // NOT_FOUND: fine if the initial absence or some delete is a source no acked set overwrote
            boolean explained = overwriteBefore(writes, Long.MIN_VALUE, read.start, false) == null;
            for (int i = 0; i < writes.size() && !explained; i++)
            {
                final Op delete = writes.get(i);
                explained = delete.kind == Kind.DELETE && delete.start < read.end
                    && overwriteBefore(writes, delete.end, read.start, false) == null;
            }
            if (!explained)
            {
                violations.add(new Violation(Violation.LOST, read.start, "read of " + read.key
                    + " answered NOT_FOUND after acknowledged " + lastAckedSetBefore(writes, read.start)
                    + " (the last write before it: " + lastWriteBefore(writes, read.start) + "): " + read));
            }
        }
        return violations;
    }

    /** Whether the value a NOT_FOUND read should have seen may have died with the fault. */
    private static boolean lostWithFault(final List<Op> writes, final Op read,
        final java.util.function.Predicate<Op> lostWithFault)
    {
        final Op last = lastAckedSetBefore(writes, read.start);
        if (last == null || lostWithFault.test(last))
        {
            return true;
        }
        // a later set through the lost worker may have been recorded (acknowledged or not), then lost with it
        return writes.stream().anyMatch(w -> w.kind == Kind.SET && w.start > last.start && w.start < read.end
            && lostWithFault.test(w));
    }

    private static Op lastAckedSetBefore(final List<Op> writes, final long before)
    {
        return writes.stream().filter(w -> w.ok && w.kind == Kind.SET && w.end < before)
            .max(java.util.Comparator.comparingLong(Op::end)).orElse(null);
    }

    /** The write, acked or not, that started last before {@code before}. */
    private static Op lastWriteBefore(final List<Op> writes, final long before)
    {
        return writes.stream().filter(w -> w.start < before).max(java.util.Comparator.comparingLong(Op::start))
            .orElse(null);
    }

    /** An acked set (or, with {@code deletes}, delete) that started after {@code after} and ended before {@code before}. */
    private static Op overwriteBefore(final List<Op> writes, final long after, final long before, final boolean deletes)
    {
        for (final Op write : writes)
        {
            if (write.ok && write.start > after && write.end < before && (deletes || write.kind == Kind.SET))
            {
                return write;
            }
        }
        return null;
    }
}
