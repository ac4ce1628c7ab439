using TaskManager.Api.Auth;
using TaskManager.Api.Board;
using TaskManager.Api.Comments;
using TaskManager.Api.Database;
using TaskManager.Api.Dependencies;
using TaskManager.Api.Events;
using TaskManager.Api.Plans;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;
using TaskManager.Api.Tasks.Claims;
using TaskManager.Api.Tasks.Leases;
using TaskManager.Api.Tasks.Ordering;

HealthProbe.ExitIfRequested(args);

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDatabase();
builder.AddTokenAuth();
builder.AddHttpConventions();
builder.AddIdempotency();
builder.AddRateLimits();
builder.AddProjects();
builder.AddTasks();
builder.AddDependencies();
builder.AddPlans();
builder.AddComments();
builder.AddEvents();

var app = builder.Build();

app.UseHttpConventions();
app.UseBoard();
app.UseStartupGate();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimits();
app.UseQueryBindingCheck();

app.MapDefaultEndpoints();
app.MapApiDocumentation();
app.MapTokensApi();
app.MapProjectsApi();
app.MapTasksApi();
app.MapClaimsApi();
app.MapLeasesApi();
app.MapOrderingApi();
app.MapDependenciesApi();
app.MapPlansApi();
app.MapCommentsApi();
app.MapEventsApi();

app.Run();

public partial class Program;
