import { render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockFetch } from '../test/fixtures';
import { SignInDialog } from './TopBar';

describe('sign-in dialog', () => {
  it('offers the provider when the server has OIDC, coming back to this page', async () => {
    mockFetch({ '/api/auth/': { oidc: true, login_url: '/api/auth/login/', tokens: true } });
    window.history.replaceState(null, '', '/jobs?repo=autoland&revision=abc');
    render(<SignInDialog onClose={() => undefined} />);
    const link = await screen.findByTestId('sso-sign-in');
    expect(link.getAttribute('href')).toBe('/api/auth/login/?next=' + encodeURIComponent('/jobs?repo=autoland&revision=abc'));
    expect(screen.getByLabelText('API token')).toBeTruthy();
  });

  it('offers tokens only when the server has no OIDC', async () => {
    const { calls } = mockFetch({ '/api/auth/': { oidc: false, tokens: true } });
    render(<SignInDialog onClose={() => undefined} />);
    await waitFor(() => expect(calls.some((c) => c.url.pathname === '/api/auth/')).toBe(true));
    expect(screen.queryByTestId('sso-sign-in')).toBeNull();
    expect(screen.getByLabelText('API token')).toBeTruthy();
  });
});
