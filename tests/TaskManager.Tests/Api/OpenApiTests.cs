extern alias api;

using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>The OpenAPI document (<c>/openapi/v1.json</c>) describes every endpoint, its problems, parameters and auth.</summary>
public sealed class OpenApiTests(AppFixture app)
{
    private const string DocumentPath = "/openapi/v1.json";

    /// <summary>The <c>.WithName(...)</c> of every endpoint in the *Api.cs files: their OpenAPI operationIds.</summary>
    public static readonly string[] EndpointNames =
    [
        "WhoAmI", "ListTokens", "CreateToken", "RevokeToken",
        "ListProjects", "CreateProject", "GetProject", "UpdateProject", "ArchiveProject", "RestoreProject",
        "ListTasks", "CreateTask", "ClaimTask", "GetTask", "UpdateTask", "MoveTask", "ArchiveTask", "RestoreTask",
        "ListBlockers", "AddBlocker", "RemoveBlocker",
        "CreatePlan",
        "ListComments", "AddComment",
        "TaskHistory", "ProjectHistory", "StreamEvents",
    ];

    private static readonly string[] WriteMethods = ["POST", "PUT", "PATCH", "DELETE"];

    /// <summary>Properties that hold any JSON on purpose: an event's data depends on its kind.</summary>
    private static readonly string[] ArbitraryJsonProperties = ["EventDto.data"];

    private sealed record Operation(string Path, string Method, JsonElement Json)
    {
        public string? Id => Json.TryGetProperty("operationId", out var id) ? id.GetString() : null;

        public bool Documents(int status) =>
            Json.TryGetProperty("responses", out var responses) && responses.TryGetProperty(status.ToString(), out _);

        public override string ToString() => $"{Method} {Path} ({Id})";
    }

    [Fact]
    public async Task Every_named_endpoint_is_an_operation_of_the_document()
    {
        var operationIds = (await OperationsAsync()).Select(o => o.Id).ToHashSet();
        // Also every named /api endpoint the running api maps, so a new endpoint cannot be left out of the list above.
        var mapped = app.Api.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api", StringComparison.OrdinalIgnoreCase) == true)
            .Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName)
            .OfType<string>();

        var missing = EndpointNames.Union(mapped).Where(name => !operationIds.Contains(name)).Order();

        Assert.Empty(missing);
    }

    [Fact]
    public async Task Every_write_operation_documents_401_and_403()
    {
        var writes = (await OperationsAsync()).Where(o => WriteMethods.Contains(o.Method)).ToArray();

        Assert.NotEmpty(writes);
        Assert.Empty(from o in writes from status in new[] { 401, 403 } where !o.Documents(status) select $"{o} lacks {status}");
    }

    [Fact]
    public async Task Patch_operations_document_412()
    {
        var patches = (await OperationsAsync()).Where(o => o.Method == "PATCH").ToArray();

        Assert.Equal(["UpdateProject", "UpdateTask"], patches.Select(o => o.Id).Order());
        Assert.Empty(patches.Where(o => !o.Documents(412)).Select(o => o.ToString()));
    }

    [Theory]
    [InlineData("ListTasks", "project,status,assignee,label,priority,parent,ready,q,includeArchived,limit,cursor,view")]
    [InlineData("ListProjects", "q,includeArchived,limit,cursor")]
    [InlineData("ListComments", "limit,cursor")]
    [InlineData("TaskHistory", "limit,cursor")]
    [InlineData("ProjectHistory", "limit,cursor")]
    public async Task List_operations_document_their_query_parameters(string operationId, string parameters)
    {
        var operations = await OperationsAsync();
        var operation = Assert.Single(operations, o => o.Id == operationId);

        var documented = QueryParameters(operation).ToHashSet(StringComparer.Ordinal);

        string[] undocumented = [.. parameters.Split(',').Where(p => !documented.Contains(p))];
        Assert.Empty(undocumented);
    }

    [Fact]
    public async Task The_bearer_security_scheme_is_declared_and_required()
    {
        var document = await DocumentAsync();

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString(), StringComparer.OrdinalIgnoreCase);
        Assert.Contains(document.GetProperty("security").EnumerateArray(), requirement => requirement.TryGetProperty("Bearer", out _));
    }

    [Fact]
    public async Task Outside_development_the_document_needs_a_token()
    {
        var production = new ApiFactory(app.DatabaseConnectionString, app.AdminToken, "Production");
        try
        {
            var anonymous = await AppFixture.Authorize(production.CreateClient(), token: null).GetAsync(DocumentPath, TestHelpers.Ct).Timeout();
            var signedIn = await AppFixture.Authorize(production.CreateClient(), app.AdminToken).GetAsync(DocumentPath, TestHelpers.Ct).Timeout();

            await anonymous.AssertProblemAsync(401);
            Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
            Assert.Equal("TaskManager API", (await signedIn.ReadJsonAsync()).GetProperty("info").GetProperty("title").GetString());
        }
        finally
        {
            await production.DisposeAsync().AsTask().Timeout();
        }
    }

    [Theory]
    [InlineData("TaskDto.title", "string")]
    [InlineData("TaskDto.assignee", "string | null")]
    [InlineData("TaskDto.labels", "string[]")]
    [InlineData("TaskDto.status", "string (todo, doing, review, done)")]
    [InlineData("TaskDto.priority", "string (low, medium, high, critical)")]
    [InlineData("UpdateTaskRequest.title", "string | null")]
    [InlineData("UpdateTaskRequest.status", "string (todo, doing, review, done) | null")]
    [InlineData("UpdateTaskRequest.labels", "string[] | null")]
    [InlineData("UpdateTaskRequest.dueDate", "string | null")]
    [InlineData("CreateTokenRequest.kind", "string (person, agent) | null")]
    [InlineData("HttpValidationProblemDetails.errors", "map of string[]")]
    public async Task Properties_are_described_with_their_json_types(string property, string expected)
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");
        var (component, name) = (property.Split('.')[0], property.Split('.')[1]);

        Assert.Equal(expected, Describe(schemas, schemas.GetProperty(component).GetProperty("properties").GetProperty(name)));
    }

    [Fact]
    public async Task No_property_or_parameter_is_described_as_anything()
    {
        var document = await DocumentAsync();
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var properties = (
            from component in schemas.EnumerateObject()
            where component.Value.TryGetProperty("properties", out _)
            from property in component.Value.GetProperty("properties").EnumerateObject()
            select (Name: $"{component.Name}.{property.Name}", Type: Describe(schemas, property.Value))).ToArray();
        var parameters =
            from operation in await OperationsAsync()
            where operation.Json.TryGetProperty("parameters", out _)
            from parameter in operation.Json.GetProperty("parameters").EnumerateArray()
            select (Name: $"{operation} {parameter.GetProperty("name").GetString()}", Type: Describe(schemas, parameter.GetProperty("schema")));

        var anything = properties.Concat(parameters)
            .Where(p => p.Type.Contains("anything", StringComparison.Ordinal) && !ArbitraryJsonProperties.Contains(p.Name))
            .Select(p => $"{p.Name}: {p.Type}");

        Assert.Empty(anything);
        // The exceptions are real properties, still arbitrary JSON: a renamed one cannot leave a stale exception behind.
        Assert.All(ArbitraryJsonProperties, name => Assert.Contains((name, "anything"), properties));
    }

    [Fact]
    public async Task OpenApi_document_lints_clean_with_redocly_recommended_rules()
    {
        var response = await app.Api.CreateClient(token: null).GetAsync(DocumentPath, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var file = Path.Combine(Path.GetTempPath(), $"taskmanager-openapi-{Guid.NewGuid():N}.json");
        try
        {
            await File.WriteAllTextAsync(file, await response.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout(), TestHelpers.Ct).Timeout();

            var lint = await Redocly.LintAsync(file);

            Assert.True(lint.IsClean, lint.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The document as <c>app.Api</c> (Development) serves it: anonymously.</summary>
    private async Task<JsonElement> DocumentAsync()
    {
        var response = await app.Api.CreateClient(token: null).GetAsync(DocumentPath, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private async Task<Operation[]> OperationsAsync()
    {
        var document = await DocumentAsync();
        return
        [
            .. from path in document.GetProperty("paths").EnumerateObject()
               from member in path.Value.EnumerateObject()
               let method = member.Name.ToUpperInvariant()
               where method is "GET" or "POST" or "PUT" or "PATCH" or "DELETE"
               select new Operation(path.Name, method, member.Value),
        ];
    }

    /// <summary>
    /// A schema in short, following references and oneOf: "string", "string | null", "string[]",
    /// "string (todo, done)" for a string enum, "map of string[]" for a dictionary, "anything" for <c>{}</c>.
    /// </summary>
    private static string Describe(JsonElement schemas, JsonElement schema)
    {
        var types = new List<string>();
        var values = new List<string>();
        string? items = null, map = null;
        Collect(schema);

        List<string> described =
        [
            .. types.Distinct().Where(t => t != "null").Select(t => t switch
            {
                "array" => $"{items ?? "anything"}[]",
                "object" when map is not null => $"map of {map}",
                "string" when values.Count > 0 => $"string ({string.Join(", ", values)})",
                _ => t,
            }),
        ];
        if (described.Count == 0)
        {
            described.Add(values.Count > 0 ? $"untyped ({string.Join(", ", values)})" : "anything");
        }
        if (types.Contains("null"))
        {
            described.Add("null");
        }
        return string.Join(" | ", described);

        void Collect(JsonElement s)
        {
            if (s.TryGetProperty("$ref", out var reference))
            {
                Collect(schemas.GetProperty(reference.GetString()!.Split('/')[^1]));
            }
            if (s.TryGetProperty("oneOf", out var oneOf))
            {
                foreach (var option in oneOf.EnumerateArray())
                {
                    Collect(option);
                }
            }
            if (s.TryGetProperty("type", out var type))
            {
                types.AddRange(type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!) : [type.GetString()!]);
            }
            if (s.TryGetProperty("enum", out var enumValues))
            {
                values.AddRange(enumValues.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!));
            }
            if (s.TryGetProperty("items", out var itemSchema))
            {
                items = Describe(schemas, itemSchema);
            }
            if (s.TryGetProperty("additionalProperties", out var valueSchema) && valueSchema.ValueKind == JsonValueKind.Object)
            {
                map = Describe(schemas, valueSchema);
            }
        }
    }

    private static IEnumerable<string> QueryParameters(Operation operation) =>
        operation.Json.TryGetProperty("parameters", out var parameters)
            ? parameters.EnumerateArray()
                .Where(p => p.TryGetProperty("in", out var location) && location.GetString() == "query")
                .Select(p => p.GetProperty("name").GetString()!)
            : [];
}
