package awscollector

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	idstypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
)

// icUser is an identity store user, as the access list records it.
type icUser struct {
	id, name, display, status string
	emails                    []string
	externalIDs               []map[string]any
}

// icGroup is an identity store group with its members (user ids).
type icGroup struct {
	id, name, description string
	members               []string
	membersErr            error
	read                  bool
}

// readStore reads the instance's identity store: every user, every group
// and each group's members. Memberships are listed per group: Identity
// Store has no call that lists every membership at once, and
// ListGroupMembershipsForMember would cost one call per user, where a
// store has far fewer groups than users.
func (c *identityCenterCollector) readStore(ctx context.Context, api identityStoreAPI, in *icInstance) {
	store := aws.ToString(in.meta.IdentityStoreId)
	up := identitystore.NewListUsersPaginator(api, &identitystore.ListUsersInput{IdentityStoreId: aws.String(store), MaxResults: aws.Int32(100)})
	for up.HasMorePages() {
		page, err := up.NextPage(ctx)
		if err != nil {
			in.usersErr = fmt.Errorf("list users: %w", err)
			in.fail(store, "identitystore:ListUsers", in.usersErr)
			break
		}
		for _, u := range page.Users {
			in.users = append(in.users, userOf(u))
		}
	}
	gp := identitystore.NewListGroupsPaginator(api, &identitystore.ListGroupsInput{IdentityStoreId: aws.String(store), MaxResults: aws.Int32(100)})
	for gp.HasMorePages() {
		page, err := gp.NextPage(ctx)
		if err != nil {
			in.groupsErr = fmt.Errorf("list groups: %w", err)
			in.fail(store, "identitystore:ListGroups", in.groupsErr)
			break
		}
		for _, g := range page.Groups {
			in.groups = append(in.groups, &icGroup{id: aws.ToString(g.GroupId), name: aws.ToString(g.DisplayName), description: aws.ToString(g.Description)})
		}
	}
	sort.Slice(in.users, func(i, j int) bool { return in.users[i].id < in.users[j].id })
	sort.Slice(in.groups, func(i, j int) bool { return in.groups[i].id < in.groups[j].id })
	forEach(ctx, c.s.concurrency(), in.groups, func(ctx context.Context, g *icGroup) {
		mp := identitystore.NewListGroupMembershipsPaginator(api, &identitystore.ListGroupMembershipsInput{
			IdentityStoreId: aws.String(store), GroupId: aws.String(g.id), MaxResults: aws.Int32(100)})
		for mp.HasMorePages() {
			page, err := mp.NextPage(ctx)
			if err != nil {
				g.membersErr = fmt.Errorf("list group memberships (group %s): %w", g.name, err)
				break
			}
			for _, m := range page.GroupMemberships {
				if u, ok := m.MemberId.(*idstypes.MemberIdMemberUserId); ok {
					g.members = append(g.members, u.Value)
				}
			}
		}
		g.read = true
	})
	for _, g := range in.groups {
		if !g.read {
			g.membersErr = notRead(ctx)
		}
		if g.membersErr != nil {
			in.fail(store+"/group/"+g.id, "identitystore:ListGroupMemberships", g.membersErr)
		}
		sort.Strings(g.members)
	}
}

func userOf(u idstypes.User) icUser {
	out := icUser{id: aws.ToString(u.UserId), name: aws.ToString(u.UserName), display: aws.ToString(u.DisplayName), status: string(u.UserStatus)}
	for _, e := range u.Emails {
		out.emails = append(out.emails, aws.ToString(e.Value))
	}
	for _, x := range u.ExternalIds {
		out.externalIDs = append(out.externalIDs, map[string]any{"issuer": aws.ToString(x.Issuer), "id": aws.ToString(x.Id)})
	}
	return out
}
