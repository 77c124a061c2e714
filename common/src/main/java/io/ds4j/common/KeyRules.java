package io.ds4j.common;

import java.util.List;

/**
 * The upstream's key and batch rules (spec §1.8): keys match {@code ^[a-zA-Z0-9.\-_!@#%^*()+=:;]*$}, are 1..1024
 * characters long; set-like batches hold fewer than 2000 keys, read-like batches at most 10,000.
 */
public final class KeyRules
{
    public static final int MAX_KEY_LENGTH = 1024;
    /** mset and mcreate: fewer than this many keys. */
    public static final int MAX_SET_BATCH_EXCLUSIVE = 2000;
    /** get, exist, expire, delete: at most this many keys. */
    public static final int MAX_READ_BATCH = 10_000;

    private static final boolean[] ALLOWED = new boolean[128];

    static
    {
        for (char c = 'a'; c <= 'z'; c++)
        {
            ALLOWED[c] = true;
        }
        for (char c = 'A'; c <= 'Z'; c++)
        {
            ALLOWED[c] = true;
        }
        for (char c = '0'; c <= '9'; c++)
        {
            ALLOWED[c] = true;
        }
        for (final char c : ".-_!@#%^*()+=:;".toCharArray())
        {
            ALLOWED[c] = true;
        }
    }

    private KeyRules()
    {
    }

    /** Null when the key is valid, else the reason it is not. */
    public static String problem(final String key)
    {
        if (key == null)
        {
            return "key is null";
        }
        final int length = key.length();
        if (length == 0)
        {
            return "key is empty";
        }
        if (length > MAX_KEY_LENGTH)
        {
            return "key is " + length + " characters long, the limit is " + MAX_KEY_LENGTH;
        }
        for (int i = 0; i < length; i++)
        {
            final char c = key.charAt(i);
            if (c >= 128 || !ALLOWED[c])
            {
                return "key has the character '" + printable(c) + "' at index " + i
                    + "; keys may hold only letters, digits and .-_!@#%^*()+=:;";
            }
        }
        return null;
    }

    public static boolean isValid(final String key)
    {
        return problem(key) == null;
    }

    /** Throws INVALID with the reason when the key breaks a rule. */
    public static void check(final String key)
    {
        final String problem = problem(key);
        if (problem != null)
        {
            throw new DsException(StatusCode.INVALID, "invalid key: " + problem);
        }
    }

    public static void checkSetBatch(final List<?> keys)
    {
        checkNotEmpty(keys);
        if (keys.size() >= MAX_SET_BATCH_EXCLUSIVE)
        {
            throw new DsException(StatusCode.INVALID, "a set batch holds " + keys.size() + " keys; it must hold fewer than "
                + MAX_SET_BATCH_EXCLUSIVE + ": split it into batches of at most " + (MAX_SET_BATCH_EXCLUSIVE - 1));
        }
    }

    public static void checkReadBatch(final List<?> keys)
    {
        checkNotEmpty(keys);
        if (keys.size() > MAX_READ_BATCH)
        {
            throw new DsException(StatusCode.INVALID, "a batch holds " + keys.size() + " keys; the limit is "
                + MAX_READ_BATCH + ": split it into batches of at most " + MAX_READ_BATCH);
        }
    }

    private static void checkNotEmpty(final List<?> keys)
    {
        if (keys == null || keys.isEmpty())
        {
            throw new DsException(StatusCode.INVALID, "the key list is empty");
        }
    }

    private static String printable(final char c)
    {
        return c < 32 || c == 127 ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }
}
