package cdctail.oracle;

/** Small text helpers shared by the printers. */
final class Text
{
    private Text() {}

    /** A message on one line: newlines and tabs become spaces. */
    static String oneLine(String s)
    {
        if (s == null)
            return "";
        return s.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ').replace('\t', ' ');
    }
}
