package oktasim

import (
	"fmt"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
)

// Logins of the demo org's users, one per case the checks distinguish.
const (
	UserPush          = "alice@acme.example" // push factor, recent sign-in
	UserWebAuthn      = "bob@acme.example"   // WebAuthn (FIDO2) factor
	UserSMSOnly       = "carol@acme.example" // SMS only: weak factor
	UserNoFactor      = "dave@acme.example"  // no factor at all
	UserIdle          = "erin@acme.example"  // TOTP, last sign-in 120 days ago
	UserDeprovisioned = "frank@acme.example" // deprovisioned, still assigned to an app
	UserSuspended     = "grace@acme.example" // suspended, nothing assigned
	UserStaged        = "heidi@acme.example" // staged, never activated

	// PolicyDefault is the default global session policy, whose rule keeps
	// idle sessions for 2 hours.
	PolicyDefault = "00pdefaultpolicy0001"
	// PolicyAdmins is a stricter policy: MFA, 15-minute idle timeout.
	PolicyAdmins = "00padminspolicy00001"

	// The org runs Identity Engine: each app has an authentication policy.
	// PolicyAuthDashboard asks for two factors (GitHub Enterprise, AWS).
	PolicyAuthDashboard = "00pauthdashboard0001"
	// PolicyAuthOneFactor lets users into Salesforce with a password alone.
	PolicyAuthOneFactor = "00pauthsalesforce001"
)

// Org is the simulated org's content, as the Okta SDK's own types.
type Org struct {
	Users    []*okta.User
	Factors  map[string][]*okta.UserFactor // user id →
	Groups   []*okta.Group
	Members  map[string][]string // group id → user ids
	Apps     []*okta.Application
	AppUsers map[string][]*okta.AppUser // app id →
	// AppGroups are group assignments by app id.
	AppGroups map[string][]*okta.ApplicationGroupAssignment
	Policies  []*okta.Policy
	Rules     map[string][]*okta.PolicyRule // policy id →
	// AuthPolicies are the authentication (ACCESS_POLICY) policies of an
	// Identity Engine org, AuthRules their rules by policy id.
	AuthPolicies []*okta.Policy
	AuthRules    map[string][]*okta.AccessPolicyRule
	// Classic makes the org a Classic Engine one: it has no
	// authentication policies and refuses to list them.
	Classic bool
}

func demoOrg(now time.Time) *Org {
	now = now.UTC().Truncate(time.Second)
	ago := func(d int) *time.Time { t := now.AddDate(0, 0, -d); return &t }
	o := &Org{
		Factors: map[string][]*okta.UserFactor{}, Members: map[string][]string{},
		AppUsers: map[string][]*okta.AppUser{}, AppGroups: map[string][]*okta.ApplicationGroupAssignment{},
		Rules: map[string][]*okta.PolicyRule{}, AuthRules: map[string][]*okta.AccessPolicyRule{},
	}
	user := func(id, login, status string, created, lastLogin *time.Time) *okta.User {
		profile := okta.UserProfile{"login": login, "email": login, "firstName": firstName(login), "lastName": "Example"}
		u := &okta.User{
			Id: id, Status: status, Created: created, LastUpdated: created, StatusChanged: created,
			LastLogin: lastLogin, Profile: &profile,
			Credentials: &okta.UserCredentials{Provider: &okta.AuthenticationProvider{Type: "OKTA", Name: "OKTA"}},
			Type:        &okta.UserType{Id: "oty1defaulttype00001"},
		}
		if status != "STAGED" {
			u.Activated = created
		}
		o.Users = append(o.Users, u)
		return u
	}
	factor := func(userID, id, typ, provider string) {
		o.Factors[userID] = append(o.Factors[userID], &okta.UserFactor{
			Id: id, FactorType: typ, Provider: provider, Status: "ACTIVE", Created: ago(300), LastUpdated: ago(300),
		})
	}

	alice := user("00u1alice00000000001", UserPush, "ACTIVE", ago(400), ago(1))
	factor(alice.Id, "opf1alicepush0000001", "push", "OKTA")
	bob := user("00u1bob0000000000002", UserWebAuthn, "ACTIVE", ago(400), ago(3))
	factor(bob.Id, "fwf1bobwebauthn00002", "webauthn", "FIDO")
	carol := user("00u1carol00000000003", UserSMSOnly, "ACTIVE", ago(350), ago(2))
	factor(carol.Id, "sms1carolsms00000003", "sms", "OKTA")
	dave := user("00u1dave000000000004", UserNoFactor, "ACTIVE", ago(30), ago(10))
	erin := user("00u1erin000000000005", UserIdle, "ACTIVE", ago(500), ago(120))
	factor(erin.Id, "uft1erintotp00000005", "token:software:totp", "GOOGLE")
	frank := user("00u1frank00000000006", UserDeprovisioned, "DEPROVISIONED", ago(600), ago(45))
	frank.StatusChanged = ago(40) // deprovisioned after his last sign-in
	grace := user("00u1grace00000000007", UserSuspended, "SUSPENDED", ago(600), ago(60))
	heidi := user("00u1heidi00000000008", UserStaged, "STAGED", ago(2), nil)
	_ = heidi

	group := func(id, name, typ string, members ...*okta.User) *okta.Group {
		g := &okta.Group{Id: id, Type: typ, Created: ago(700), LastUpdated: ago(700), LastMembershipUpdated: ago(5),
			ObjectClass: []string{"okta:user_group"}, Profile: &okta.GroupProfile{Name: name}}
		o.Groups = append(o.Groups, g)
		for _, m := range members {
			o.Members[id] = append(o.Members[id], m.Id)
		}
		return g
	}
	var everyoneMembers []*okta.User
	for _, u := range o.Users {
		if u.Status != "DEPROVISIONED" {
			everyoneMembers = append(everyoneMembers, u)
		}
	}
	group("00g0everyone00000001", "Everyone", "BUILT_IN", everyoneMembers...).Profile.Description = "All users in your organization"
	eng := group("00g1engineering00002", "Engineering", "OKTA_GROUP", alice, bob, carol, dave)
	sales := group("00g1sales00000000003", "Sales", "OKTA_GROUP", erin)
	_ = grace

	app := func(id, name, label string) *okta.Application {
		a := &okta.Application{Id: id, Name: name, Label: label, Status: "ACTIVE", SignOnMode: "SAML_2_0", Created: ago(700), LastUpdated: ago(100)}
		o.Apps = append(o.Apps, a)
		return a
	}
	assignUser := func(a *okta.Application, u *okta.User, scope string) {
		o.AppUsers[a.Id] = append(o.AppUsers[a.Id], &okta.AppUser{
			Id: u.Id, Scope: scope, Status: "PROVISIONED", SyncState: "DISABLED", Created: ago(90), LastUpdated: ago(90),
			Credentials: &okta.AppUserCredentials{UserName: (*u.Profile)["login"].(string)},
		})
	}
	assignGroup := func(a *okta.Application, g *okta.Group, priority int64) {
		o.AppGroups[a.Id] = append(o.AppGroups[a.Id], &okta.ApplicationGroupAssignment{Id: g.Id, PriorityPtr: &priority, LastUpdated: ago(90)})
		for _, uid := range o.Members[g.Id] {
			for _, u := range o.Users {
				if u.Id == uid {
					assignUser(a, u, "GROUP")
				}
			}
		}
	}
	ghApp := app("0oa1githubent0000001", "githubenterprise", "GitHub Enterprise")
	assignGroup(ghApp, eng, 0)
	sf := app("0oa1salesforce000002", "salesforce", "Salesforce")
	assignGroup(sf, sales, 0)
	assignUser(sf, frank, "USER")
	aws := app("0oa1amazonaws0000003", "amazon_aws", "AWS")
	assignUser(aws, alice, "USER")

	policy := func(id, name string, priority int64, system bool) *okta.Policy {
		p := &okta.Policy{Id: id, Name: name, Type: "OKTA_SIGN_ON", Status: "ACTIVE", PriorityPtr: &priority,
			System: &system, Created: ago(700), LastUpdated: ago(20)}
		o.Policies = append(o.Policies, p)
		return p
	}
	rule := func(p *okta.Policy, id, name string, priority, idle, lifetime int64, mfa bool) {
		yes, no := true, false
		o.Rules[p.Id] = append(o.Rules[p.Id], &okta.PolicyRule{
			Id: id, Name: name, Type: "SIGN_ON", Status: "ACTIVE", PriorityPtr: &priority, System: &no,
			Created: ago(700), LastUpdated: ago(20),
			Actions: &okta.PolicyRuleActions{Signon: &okta.OktaSignOnPolicyRuleSignonActions{
				Access: "ALLOW", RequireFactor: &mfa, FactorPromptMode: "ALWAYS", RememberDeviceByDefault: &no,
				Session: &okta.OktaSignOnPolicyRuleSignonSessionActions{
					MaxSessionIdleMinutes: idle, MaxSessionIdleMinutesPtr: &idle,
					MaxSessionLifetimeMinutes: lifetime, MaxSessionLifetimeMinutesPtr: &lifetime,
					UsePersistentCookie: &no,
				},
			}},
		})
		_ = yes
	}
	admins := policy(PolicyAdmins, "Administrators", 1, false)
	rule(admins, "0pr1admins000000001", "Admins: MFA, 15 min idle", 1, 15, 480, true)
	def := policy(PolicyDefault, "Default Policy", 2, true)
	rule(def, "0pr1default00000001", "Default Rule", 1, 120, 0, true)

	authPolicy := func(id, name string, priority int64) *okta.Policy {
		p := &okta.Policy{Id: id, Name: name, Type: "ACCESS_POLICY", Status: "ACTIVE", PriorityPtr: &priority,
			System: new(bool), Created: ago(400), LastUpdated: ago(10)}
		o.AuthPolicies = append(o.AuthPolicies, p)
		return p
	}
	authRule := func(p *okta.Policy, id, name string, priority int64, access, factorMode string) {
		no := false
		o.AuthRules[p.Id] = append(o.AuthRules[p.Id], &okta.AccessPolicyRule{
			Id: id, Name: name, Type: "ACCESS_POLICY", Status: "ACTIVE", PriorityPtr: &priority, System: &no,
			Created: ago(400), LastUpdated: ago(10),
			Actions: &okta.AccessPolicyRuleActions{AppSignOn: &okta.AccessPolicyRuleApplicationSignOn{
				Access: access,
				VerificationMethod: &okta.VerificationMethod{Type: "ASSURANCE", FactorMode: factorMode, ReauthenticateIn: "PT2H",
					Constraints: []*okta.AccessPolicyConstraints{{Knowledge: &okta.KnowledgeConstraint{Types: []string{"password"}}}}},
			}},
		})
	}
	dash := authPolicy(PolicyAuthDashboard, "Any two factors", 1)
	authRule(dash, "rul1dashboardmfa001", "Any two factors", 1, "ALLOW", "2FA")
	sfAuth := authPolicy(PolicyAuthOneFactor, "Salesforce", 2)
	authRule(sfAuth, "rul1salesforce1fa01", "Password only", 1, "ALLOW", "1FA")
	uses := func(a *okta.Application, p *okta.Policy) {
		a.Links = map[string]any{"accessPolicy": map[string]any{"href": "https://acme.okta.example/api/v1/policies/" + p.Id}}
	}
	uses(ghApp, dash)
	uses(aws, dash)
	uses(sf, sfAuth)
	return o
}

func firstName(login string) string {
	for i, c := range login {
		if c == '@' {
			return login[:i]
		}
	}
	return login
}

// AddUsers adds n active users to the org for scale runs: each with a push
// factor, a member of one of ten groups (the first assigned to the GitHub
// Enterprise app), every fifth also assigned to AWS directly.
func (o *Org) AddUsers(now time.Time, n int) {
	now = now.UTC().Truncate(time.Second)
	created, last := now.AddDate(-1, 0, 0), now.AddDate(0, 0, -1)
	var groups []*okta.Group
	for i := range 10 {
		g := &okta.Group{Id: fmt.Sprintf("00gscale%012d", i), Type: "OKTA_GROUP", Created: &created, LastUpdated: &created,
			LastMembershipUpdated: &last, ObjectClass: []string{"okta:user_group"}, Profile: &okta.GroupProfile{Name: fmt.Sprintf("Team %d", i)}}
		o.Groups = append(o.Groups, g)
		groups = append(groups, g)
	}
	var gh, aws *okta.Application
	for _, a := range o.Apps {
		switch a.Name {
		case "githubenterprise":
			gh = a
		case "amazon_aws":
			aws = a
		}
	}
	if gh != nil {
		priority := int64(len(o.AppGroups[gh.Id]))
		o.AppGroups[gh.Id] = append(o.AppGroups[gh.Id], &okta.ApplicationGroupAssignment{Id: groups[0].Id, PriorityPtr: &priority, LastUpdated: &created})
	}
	for i := range n {
		id := fmt.Sprintf("00uscale%012d", i)
		login := fmt.Sprintf("user%05d@acme.example", i)
		profile := okta.UserProfile{"login": login, "email": login, "firstName": fmt.Sprintf("user%05d", i), "lastName": "Example"}
		u := &okta.User{Id: id, Status: "ACTIVE", Created: &created, Activated: &created, LastUpdated: &created, StatusChanged: &created,
			LastLogin: &last, Profile: &profile, Type: &okta.UserType{Id: "oty1defaulttype00001"},
			Credentials: &okta.UserCredentials{Provider: &okta.AuthenticationProvider{Type: "OKTA", Name: "OKTA"}}}
		o.Users = append(o.Users, u)
		o.Factors[id] = []*okta.UserFactor{{Id: fmt.Sprintf("opfscale%012d", i), FactorType: "push", Provider: "OKTA",
			Status: "ACTIVE", Created: &created, LastUpdated: &created}}
		g := groups[i%len(groups)]
		o.Members[g.Id] = append(o.Members[g.Id], id)
		au := func(a *okta.Application, scope string) {
			o.AppUsers[a.Id] = append(o.AppUsers[a.Id], &okta.AppUser{Id: id, Scope: scope, Status: "PROVISIONED", SyncState: "DISABLED",
				Created: &created, LastUpdated: &created, Credentials: &okta.AppUserCredentials{UserName: login}})
		}
		if gh != nil && g == groups[0] {
			au(gh, "GROUP")
		}
		if aws != nil && i%5 == 0 {
			au(aws, "USER")
		}
	}
}
