package io.ds4j.worker.config;

/**
 * One worker flag: the upstream's snake_case name, its default as text, what it does, and its kind (which decides
 * how a value is checked). The list of all of them is {@link WorkerFlags}.
 */
public record WorkerFlag(String name, String defaultValue, Kind kind, String description)
{
    /** How a flag's text value is read and checked. */
    public enum Kind
    {
        STRING, INT, LONG, BOOL, DOUBLE, PATH, ADDRESS
    }

    /** Null when {@code value} is acceptable for this flag, else what is wrong with it. */
    public String problem(final String value)
    {
        try
        {
            switch (kind)
            {
                case INT -> Integer.parseInt(value.trim());
                case LONG -> Long.parseLong(value.trim());
                case DOUBLE -> Double.parseDouble(value.trim());
                case BOOL ->
                {
                    if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false"))
                    {
                        return "--" + name + " takes true or false, not '" + value + "'";
                    }
                }
                case ADDRESS ->
                {
                    if (!value.isEmpty())
                    {
                        HostPort.parse(value);
                    }
                }
                default ->
                {
                }
            }
            return null;
        }
        catch (final NumberFormatException e)
        {
            return "--" + name + " takes a number, not '" + value + "'";
        }
        catch (final IllegalArgumentException e)
        {
            return "--" + name + ": " + e.getMessage();
        }
    }
}
