using System.Net;

namespace RuntimeCtl.Cli.Remote;

/// <summary>A job's dashboard (<c>runtimectl serve</c>) that the CLI talks to instead of a queue directory (<c>--url</c>).</summary>
/// <param name="BaseAddress">The server's address, without path, query or token.</param>
/// <param name="Token">The access token every request carries (in an <c>Authorization: Bearer</c> header).</param>
internal sealed record RemoteEndpoint(Uri BaseAddress, string Token)
{
    /// <summary>The environment variable that stands for <c>--token</c>.</summary>
    public const string TokenVariable = "RUNTIMECTL_TOKEN";

    /// <summary>Gets the address as shown to the user: never with the token.</summary>
    public string Label => BaseAddress.GetLeftPart(UriPartial.Authority);

    /// <summary>Checks <c>--url</c> and finds the token: <c>--token</c>, else <c>RUNTIMECTL_TOKEN</c>, else the URL's <c>?token=</c>.</summary>
    /// <exception cref="UsageException">The URL is not an http(s) address, names another machine without consent, or no token is given.</exception>
    public static RemoteEndpoint Parse(string url, string? token, Func<string, string?> environment, bool allowRemote)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            throw new UsageException($"--url must be the address that 'runtimectl serve' printed, such as http://127.0.0.1:8765/?token=..., got '{Redact(url)}'.");
        }

        if (!IsLoopback(uri) && !allowRemote)
        {
            throw new UsageException($"--url {uri.GetLeftPart(UriPartial.Authority)} is another machine: the token and every command would cross the network in the clear. Reach it through an SSH tunnel (ssh -L 8765:127.0.0.1:PORT NODE, then --url http://127.0.0.1:8765), or add --allow-remote if the network is yours.");
        }

        var fromUrl = QueryToken(uri);
        var chosen = !string.IsNullOrEmpty(token) ? token : environment(TokenVariable) is { Length: > 0 } variable ? variable : fromUrl;
        if (string.IsNullOrEmpty(chosen))
        {
            throw new UsageException($"the dashboard needs its access token: pass the URL that 'runtimectl serve' printed (with ?token=), or --token TOKEN, or set {TokenVariable}.");
        }

        return new RemoteEndpoint(new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"), chosen);
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static string? QueryToken(Uri uri)
    {
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair.AsSpan(0, equals).SequenceEqual("token"))
            {
                return Uri.UnescapeDataString(pair[(equals + 1)..]);
            }
        }

        return null;
    }

    // A URL in an error message loses its query: it may hold the token.
    private static string Redact(string url)
    {
        var query = url.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? url : url[..query] + "?...";
    }
}
