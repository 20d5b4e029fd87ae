/** A view that throws shows a message (and the rest of the dashboard keeps working) instead of a blank page. */
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { ErrorState } from './States.tsx';

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('stmscope view failed', error, info.componentStack);
  }

  override render() {
    if (this.state.error)
      return (
        <ErrorState title="This view failed" message={`${this.state.error.message}\n\nOther views still work; please report this with the recording if you can.`}>
          <p>
            <button className="st-btn" onClick={() => this.setState({ error: null })}>
              Try again
            </button>
          </p>
        </ErrorState>
      );
    return this.props.children;
  }
}
