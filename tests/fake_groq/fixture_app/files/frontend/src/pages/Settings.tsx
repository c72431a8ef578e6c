import { API_URL } from "../config";

export default function Settings() {
  return (
    <div className="page">
      <h1>Settings</h1>
      <p>
        Backend: <code>{API_URL}</code>
      </p>
    </div>
  );
}
